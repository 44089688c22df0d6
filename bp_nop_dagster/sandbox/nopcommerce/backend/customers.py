"""Addresses and customers (plugin Controllers/Common/AddressController.cs and
Controllers/Customers/CustomerController.cs over core AddressService and CustomerService)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bp_nop_dagster.sandbox.nopcommerce.backend.state import (
    ROLE_ADMINISTRATORS,
    ROLE_GUESTS,
    ROLE_REGISTERED,
    ROLE_SYSTEM_NAMES,
    ShopState,
    by_ids,
    contains,
    in_window,
    newest_first,
)
from bp_nop_dagster.sandbox.nopcommerce.wire import new_entity


LAST_ACTIVITY_MINUTES = timedelta(minutes=15)  # CustomerSettings.LastActivityMinutes (InstallationService default)


class CustomersMixin(ShopState):
    # ----------------------------------------------------------------------------- addresses
    def create_address(self, *, first_name: str | None, last_name: str | None, email: str | None, company: str | None = None,
                       country_id: int | None = None, county: str | None = None, city: str | None = None,
                       address1: str | None = None, address2: str | None = None, zip_postal_code: str | None = None,
                       phone_number: str | None = None, created_on: datetime | None = None) -> int:
        """An address as the storefront's checkout stores it (dated now)."""
        address_id = self._next_id("address")
        self.addresses[address_id] = new_entity(
            "address", id=address_id, first_name=first_name, last_name=last_name, email=email, company=company,
            country_id=country_id, county=county, city=city, address1=address1, address2=address2,
            zip_postal_code=zip_postal_code, phone_number=phone_number, created_on_utc=created_on or self.now(),
        )
        return address_id

    def insert_address(self, entity: dict) -> dict:
        """Address/Create: `InsertAddressAsync` of the mapped DTO, a plain insert (the callers in
        core and admin stamp CreatedOnUtc themselves; the plugin does not)."""
        entity["id"] = self._next_id("address")
        self.addresses[entity["id"]] = entity
        return entity

    def replace_address(self, entity: dict) -> None:
        """Address/Update: full replace."""
        self.addresses[entity["id"]] = entity

    def edit_address(self, address_id: int, changes: dict) -> dict:
        """A shopper editing one of their addresses in My account (Nop.Web CustomerController
        AddressEdit): the row updated in place, CreatedOnUtc kept."""
        address = self.addresses[address_id]
        refused = (set(changes) - set(address)) | ({"id", "created_on_utc"} & set(changes))
        if refused:
            raise ValueError(f"not editable address fields: {sorted(refused)}")
        address.update(changes)
        return address

    def delete_address(self, address_id: int) -> None:
        del self.addresses[address_id]

    # ----------------------------------------------------------------------------- roles
    def _seed_customer_roles(self) -> None:
        """The system roles the installation creates (InstallationService.InstallCustomersAndUsersAsync)."""
        names = {ROLE_ADMINISTRATORS: "Administrators", ROLE_REGISTERED: "Registered", ROLE_GUESTS: "Guests"}
        self.role_rows = {
            role_id: new_entity("customer_role", id=role_id, name=names.get(role_id, system_name.replace("Moderators", " Moderators")),
                                active=True, is_system_role=True, system_name=system_name, free_shipping=False, tax_exempt=False)
            for role_id, system_name in ROLE_SYSTEM_NAMES.items()
        }

    def all_customer_roles(self, show_hidden: bool = False) -> list[dict]:
        """CustomerService.GetAllCustomerRolesAsync: active ones unless showHidden, by Name."""
        return sorted((r for r in self.role_rows.values() if show_hidden or r["active"]), key=lambda r: (r["name"] or "", r["id"]))

    def customer_role_by_system_name(self, system_name: str) -> dict | None:
        """CustomerService.GetCustomerRoleBySystemNameAsync (first by id; SQL Server's CI collation)."""
        wanted = system_name.strip().lower()
        return next((r for _, r in sorted(self.role_rows.items()) if (r["system_name"] or "").lower() == wanted), None)

    def customer_role_ids(self, customer_id: int, show_hidden: bool = False) -> list[int]:
        """CustomerService.GetCustomerRoleIdsAsync: the customer's roles, active ones unless showHidden."""
        return sorted(role_id for role_id in self.customer_roles.get(customer_id, set())
                      if role_id in self.role_rows and (show_hidden or self.role_rows[role_id]["active"]))

    # ----------------------------------------------------------------------------- customers
    def _seed_api_users(self) -> None:
        """The store owner (an administrator, so "Access Web API Backend") and a clerk without it."""
        start = datetime(2020, 1, 1)
        admin = self._create_customer(email=self.credentials.nopcommerce_email, first_name="Sandbox", last_name="Admin",
                                      roles={ROLE_ADMINISTRATORS, ROLE_REGISTERED}, created_on=start)
        self.passwords[admin] = self.credentials.nopcommerce_password
        self.api_access.add(admin)
        clerk = self._create_customer(email="clerk@sandbox.test", first_name="Sandbox", last_name="Clerk",
                                      roles={ROLE_REGISTERED}, created_on=start)
        self.passwords[clerk] = "sandbox"

    def _create_customer(self, *, email: str | None, first_name: str | None, last_name: str | None, roles: set[int],
                         created_on: datetime | None = None, phone: str | None = None, company: str | None = None,
                         store_id: int = 1) -> int:
        customer_id = self._next_id("customer")
        created = created_on or self.now()
        self.customers[customer_id] = new_entity(
            "customer", id=customer_id, customer_guid=self._guid(),
            username=None if ROLE_GUESTS in roles else email, email=email,
            first_name=first_name, last_name=last_name, company=company, phone=phone, active=True,
            created_on_utc=created, last_activity_date_utc=created, registered_in_store_id=store_id,
            last_ip_address=f"10.0.{customer_id // 250 % 250}.{customer_id % 250 + 1}",
        )
        self.customer_roles[customer_id] = set(roles)
        self.customer_addresses[customer_id] = []
        return customer_id

    def add_customer(self, *, email: str | None, first_name: str, last_name: str, phone: str | None = None,
                     company: str | None = None, address1: str, address2: str | None = None, city: str, zip_postal_code: str,
                     country_iso2: str, county: str | None = None, is_guest: bool = False, created_on: datetime | None = None,
                     store_id: int = 1) -> int:
        """A storefront registration (or a guest checkout) with one address as billing and shipping."""
        country_id = self.country_id_by_iso2(country_iso2)  # type: ignore[attr-defined]
        customer_id = self._create_customer(email=email, first_name=first_name, last_name=last_name,
                                            roles={ROLE_GUESTS} if is_guest else {ROLE_REGISTERED},
                                            created_on=created_on, phone=phone, company=company, store_id=store_id)
        customer = self.customers[customer_id]
        customer.update(street_address=address1, street_address2=address2, city=city, zip_postal_code=zip_postal_code,
                        country_id=country_id, county=county)
        address_id = self.create_address(first_name=first_name, last_name=last_name, email=email, company=company,
                                          country_id=country_id, county=county, city=city, address1=address1,
                                          address2=address2, zip_postal_code=zip_postal_code, phone_number=phone,
                                          created_on=customer["created_on_utc"])
        self.customer_addresses[customer_id].append(address_id)
        customer["billing_address_id"] = address_id
        customer["shipping_address_id"] = address_id
        return customer_id

    def register_customer(self, *, email: str, first_name: str | None, last_name: str | None, phone: str | None = None,
                          password: str = "sandbox", first_visit_on: datetime | None = None, store_id: int = 1,
                          address: dict | None = None) -> int:
        """A visitor registering in the storefront. nopCommerce stores every visitor as a guest
        customer on the first request (CreatedOnUtc = then); registration converts that record
        (CustomerRegistrationService.RegisterCustomerAsync): Email and Username (the email while
        usernames are off), a password, role Registered instead of Guests; the register page then
        saves the names and phone and, when the form asks for an address, a default address as
        billing and shipping. CreatedOnUtc stays the first visit's."""
        if self.customer_by_email(email) is not None:
            raise ValueError("The specified email already exists")  # Account.Register.Errors.EmailAlreadyExists
        customer_id = self._create_customer(email=None, first_name=None, last_name=None, roles={ROLE_GUESTS},
                                            created_on=first_visit_on or self.now(), store_id=store_id)
        customer = self.customers[customer_id]
        customer.update(email=email, username=email, first_name=first_name, last_name=last_name, phone=phone, active=True,
                        last_activity_date_utc=self.now())
        self.passwords[customer_id] = password
        self.customer_roles[customer_id] = {ROLE_REGISTERED}
        if address:
            fields = dict(address)
            country_id = self.country_id_by_iso2(fields.pop("country_iso2", "GB"))  # type: ignore[attr-defined]
            address_id = self.create_address(first_name=first_name, last_name=last_name, email=email, country_id=country_id,
                                             phone_number=phone, **fields)
            self.customer_addresses[customer_id].append(address_id)
            customer["billing_address_id"] = customer["shipping_address_id"] = address_id
        return customer_id

    def edit_customer_info(self, customer_id: int, changes: dict) -> dict:
        """A customer changing their details in My account > Customer info (Nop.Web
        CustomerController.Info): names, phone, company saved on the customer; a new email through
        CustomerRegistrationService.SetEmailAsync (Email only: Username keeps the old value); the
        visit updates LastActivityDateUtc. Customers have no UpdatedOnUtc."""
        customer = self.customers[customer_id]
        allowed = {"email", "first_name", "last_name", "phone", "company", "gender", "date_of_birth", "vat_number", "fax",
                   "street_address", "street_address2", "zip_postal_code", "city", "county", "country_id", "state_province_id"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"not editable customer fields: {sorted(unknown)}")
        email = changes.get("email")
        if email is not None:
            other = self.customer_by_email(email)
            if other is not None and other["id"] != customer_id:
                raise ValueError("The e-mail address is already in use")  # Account.EmailUsernameErrors.EmailAlreadyExists
            changes = {**changes, "email": email.strip()}
        customer.update(changes)
        self.saw_activity(customer)
        return customer

    def saw_activity(self, customer: dict) -> None:
        """The storefront's SaveLastActivity filter (Nop.Web.Framework/Mvc/Filters/SaveLastActivityAttribute.cs):
        on a GET page of the customer's (the form before an edit), LastActivityDateUtc = now, but
        only once it is older than CustomerSettings.LastActivityMinutes (15 as installed)."""
        if customer["last_activity_date_utc"] + LAST_ACTIVITY_MINUTES < self.now():
            customer["last_activity_date_utc"] = self.now()

    def insert_customer(self, entity: dict) -> dict:
        """Customer/Create: InsertCustomerAsync of the mapped DTO, a plain insert: no role, no
        password, no GUID or date stamped."""
        entity["id"] = self._next_id("customer")
        self.customers[entity["id"]] = entity
        self.customer_roles[entity["id"]] = set()
        self.customer_addresses[entity["id"]] = []
        return entity

    def replace_customer(self, entity: dict) -> None:
        """Customer/Update: the DTO mapped onto a new entity replaces the row (omitted properties
        reset; roles, password and address mappings are other tables and stay)."""
        self.customers[entity["id"]] = entity

    def insert_customer_address(self, customer_id: int, address_id: int) -> None:
        """CustomerService.InsertCustomerAddressAsync: the mapping, unless it exists already."""
        mapped = self.customer_addresses.setdefault(customer_id, [])
        if address_id not in mapped:
            mapped.append(address_id)

    def remove_customer_address(self, customer_id: int, address_id: int) -> None:
        """CustomerService.RemoveCustomerAddressAsync: the mapping deleted. Core also clears the
        customer's BillingAddressId/ShippingAddressId in memory, but neither it nor the plugin's
        action saves the customer, so the stored ids stay (and now point outside the mappings)."""
        mapped = self.customer_addresses.get(customer_id, [])
        if address_id in mapped:
            mapped.remove(address_id)

    def customer_address(self, customer_id: int, address_id: int | None) -> dict | None:
        """CustomerService.GetCustomerAddressAsync: the address only while it is mapped to the customer."""
        if not address_id or address_id not in self.customer_addresses.get(customer_id, []):
            return None
        return self.addresses.get(address_id)

    def customer_by_email(self, email: str) -> dict | None:
        """CustomerService.GetCustomerByEmailAsync: first match by id, deleted ones included.
        Case-insensitive, as under SQL Server's default (CI) collation."""
        wanted = email.strip().lower()
        for customer_id in sorted(self.customers):
            customer = self.customers[customer_id]
            if (customer["email"] or "").lower() == wanted:
                return customer
        return None

    def customer_by_guid(self, guid: str) -> dict | None:
        return next((c for c in self.customers.values() if c["customer_guid"] == guid), None)

    def customers_by_ids(self, ids: list[int]) -> list[dict]:
        """CustomerService.GetCustomersByIdsAsync: `GetByIdsAsync(ids, includeDeleted: false)`."""
        return by_ids(self.customers, ids, include_deleted=False)

    def is_guest(self, customer_id: int) -> bool:
        return ROLE_GUESTS in self.customer_roles.get(customer_id, set())

    def search_customers(self, *, created_from: datetime | None = None, created_to: datetime | None = None,
                         last_activity_from: datetime | None = None, last_activity_to: datetime | None = None,
                         affiliate_id: int = 0, vendor_id: int = 0, role_ids: list[int] | None = None, email: str | None = None,
                         username: str | None = None, first_name: str | None = None, last_name: str | None = None,
                         day_of_birth: int = 0, month_of_birth: int = 0, company: str | None = None, phone: str | None = None,
                         zip_postal_code: str | None = None, ip_address: str | None = None) -> list[dict]:
        """CustomerService.GetAllCustomersAsync: deleted excluded, text filters as SQL `LIKE`
        (the IP address exactly), CreatedOnUtc DESC."""
        result = []
        for customer in self.customers.values():
            birth = customer["date_of_birth"]
            if customer["deleted"] or not in_window(customer["created_on_utc"], created_from, created_to) \
                    or not in_window(customer["last_activity_date_utc"], last_activity_from, last_activity_to):
                continue
            if (affiliate_id and customer["affiliate_id"] != affiliate_id) or (vendor_id and customer["vendor_id"] != vendor_id):
                continue
            if role_ids and not (self.customer_roles.get(customer["id"], set()) & set(role_ids)):
                continue
            if (day_of_birth and (birth is None or birth.day != day_of_birth)) or (month_of_birth and (birth is None or birth.month != month_of_birth)):
                continue
            if ip_address and customer["last_ip_address"] != ip_address:
                continue
            if not (contains(customer["email"], email) and contains(customer["username"], username)
                    and contains(customer["first_name"], first_name) and contains(customer["last_name"], last_name)
                    and contains(customer["company"], company) and contains(customer["phone"], phone)
                    and contains(customer["zip_postal_code"], zip_postal_code)):
                continue
            result.append(customer)
        return newest_first(result)

    def addresses_of_customer(self, customer_id: int) -> list[dict]:
        """CustomerService.GetAddressesByCustomerIdAsync (an unknown customer has none)."""
        return [self.addresses[a] for a in self.customer_addresses.get(customer_id, []) if a in self.addresses]
