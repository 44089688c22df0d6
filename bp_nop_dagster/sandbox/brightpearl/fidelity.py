"""The Brightpearl simulator's fidelity table: one `Fact` per API route (subject `"METHOD /template"`
as the router has it, relative to `/public-api/{account}`) and one per behaviour, each with its
source and confidence (see `sandbox/fidelity.py`). Inferred behaviours name the
`FidelityOptions` field that switches them (backend constructor or `PUT /__sandbox__/fidelity`).

Source shorthands: `DOC <path>` = https://api-docs.brightpearl.com/<path>; `HELP <id>` =
https://help.brightpearl.com/hc/en-us/articles/<id>; `REC <file>` = a recording in
bp_nop_dagster/contracts/brightpearl/recordings/ (real traffic, vicvans20/ruby-brightpearl);
`AIRBYTE` = airbyte-integrations/connectors/source-brightpearl/source_brightpearl/source.py
(cobobrien/airbyte); `NOTES §n` = docs/reference/brightpearl-api.md section n (which names its
own sources); `RETURNS §n` = docs/reference/returns-refunds.md section n; `MAG` = kaikim2019/Brightpearl
Model/Api.php (a Magento connector); `RUBY-DATANAUTS` = DatanautsUK/brightpearl-ruby
lib/brightpearl_api/services/warehouse.rb (a Ruby client naming the warehouse routes).
"""

from __future__ import annotations

from bp_nop_dagster.sandbox.fidelity import Fact

DOC = "https://api-docs.brightpearl.com/"
HELP = "https://help.brightpearl.com/hc/en-us/articles/"
REC = "recording "
AIRBYTE = "AIRBYTE (cobobrien/airbyte source-brightpearl/source.py)"
MAG = "MAG (kaikim2019/Brightpearl Model/Api.php)"
RUBY_DATANAUTS = "RUBY-DATANAUTS (DatanautsUK/brightpearl-ruby warehouse service)"


def _fact(subject: str, behaviour: str, source: str, confidence: str, configurable: str | None = None) -> Fact:
    return Fact("brightpearl", subject, behaviour, source, confidence, configurable)


def _option(name: str) -> str:
    return f"FidelityOptions.{name} (constructor or PUT /__sandbox__/fidelity)"


def _reference(service: str, kind: str, behaviour: str, source: str, confidence: str) -> list[Fact]:
    return [
        _fact(f"GET /{service}/{kind}", f"every {behaviour}; a trailing slash is accepted (recorded paths end in /)",
              source, confidence),
        _fact(f"GET /{service}/{kind}/{{idset}}", f"the {behaviour} of the ID set; none found: 404 CMNC-404", source, confidence),
    ]


def _search(service: str, resource: str, behaviour: str, source: str, confidence: str) -> list[Fact]:
    return [
        _fact(f"GET /{service}/{resource}-search", behaviour + "; search semantics as in the 'search' behaviours", source,
              confidence),
        _fact(f"GET /{service}/{resource}-search/meta-data", "the columns and default sorting of the search",
              "NOTES §4 (`/{resource}-search/meta-data` describes columns)", "confirmed"),
    ]


ROUTES: list[Fact] = [
    # ---------------------------------------------------------------- product-service
    _fact("GET /product-service/product/{idset}", "products by ID set (<= 200), recorded shape (identity.sku, "
          "stock.stockTracked, financialDetails.taxCode, salesChannels[]); none found: 404 CMNC-404",
          REC + "product_get_one.json, product_get_multiple.json; DOC product/product/get.html", "recorded"),
    _fact("POST /product-service/product", "creates a product -> {response: id}; no brandId: 400 PRDC-014 "
          "'You must supply a brand ID.'", REC + "product_post.json, product_post_error_missing_required.json", "recorded"),
    _fact("OPTIONS /product-service/product", "getUris of every product, ranges merged, <= 200 ids per URI",
          REC + "product_options.json; DOC utilities/options", "recorded"),
    _fact("OPTIONS /product-service/product/{idset}", "getUris of the existing ids of the ID set",
          REC + "product_options.json", "recorded"),
    _fact("PUT /product-service/product/{productId}", "updates the fields it sends -> {}; 'Brightpearl' is the only "
          "sales channel; If-Match with another version than the product's: 412; status LIVE/DISCONTINUED/ARCHIVED "
          "(archiving needs no stock and nothing in quarantine); see 'product PUT omitted fields' and 'product "
          "updatedOn'", REC + "product_put.json; DOC product/product/put.html; " + HELP + "212647683 (statuses, "
          "archiving)", "confirmed"),
    _fact("GET /product-service/product-price/{idset}", "one entry per price list per product: {priceListId, "
          "currencyCode, currencyId, quantityPrice: {break: price}} (4-decimal strings; {} when the list has no price); "
          "none found: 404 CMNC-404 'No Product Prices Found'", REC + "product_price_get.json, "
          "product_price_get_not_found.json; DOC product/product-price/get.html", "recorded"),
    _fact("GET /product-service/product-price/{idset}/price-list/{priceListIds}", "the same, only the given price "
          "lists", DOC + "product/product-price/get.html, options.html", "confirmed"),
    _fact("PUT /product-service/product-price/{productId}/price-list", "{priceLists: [{priceListId, quantityPrice}]} "
          "replaces those lists' breaks -> {}; an unknown price list or a negative price: 400 (codes illustrative)",
          REC + "product_price_put.json; DOC product/product-price/put.html", "recorded"),
    _fact("OPTIONS /product-service/product-price", "getUris of every product's price", REC + "product_price_options.json",
          "recorded"),
    _fact("OPTIONS /product-service/product-price/{idset}", "getUris of the ID set's prices",
          REC + "product_price_options.json", "recorded"),
    *_search("product-service", "product", "columns as recorded (productId, productName, SKU, barcode, EAN, UPC, ISBN, "
             "MPN, stockTracked, ...); reference productCategoryMembership", REC + "product_search.json, "
             "product_search_bad_param.json", "recorded"),
    *_reference("product-service", "channel", "sales channel (1 web store, 2 phone, 3 marketplace)",
                REC + "channel_get.json, channel_get_by_id.json", "recorded"),
    *_reference("product-service", "price-list", "price list, name as a localised text object",
                REC + "price_list_get.json", "recorded"),
    *_reference("product-service", "brand", "brand {id, name}", REC + "brand_get.json, brand_get_by_id.json", "recorded"),
    # ---------------------------------------------------------------- warehouse-service
    *_reference("warehouse-service", "warehouse", "warehouse (added by the generator)",
                REC + "warehouse_get.json, warehouse_get_by_id.json", "recorded"),
    *_reference("warehouse-service", "shipping-method", "shipping method",
                REC + "shipping_method_get.json, shipping_method_get_by_id.json", "recorded"),
    _fact("GET /warehouse-service/warehouse/{warehouseId}/location/default", "the warehouse's default location "
          "(id 100 + warehouse id); unknown warehouse: 404", DOC + "warehouse/default-location/get.html; NOTES §7",
          "confirmed"),
    _fact("GET /warehouse-service/warehouse/{warehouseId}/location/quarantine", "the warehouse's quarantine location "
          "(id 200 + warehouse id; every warehouse has one); see 'quarantine location reply'",
          RUBY_DATANAUTS + " get_quarantine_location; DOC warehouse/quarantine-location/index.html", "confirmed"),
    _fact("POST /warehouse-service/warehouse/{warehouseId}/quarantine/release", "{productId, quantity, toLocationId} "
          "-> {}: quarantined units move to the target location and become on hand; none in quarantine: 400 WHSB-023 "
          "'None of the requested products are available in location <quarantine id>'; see 'quarantine release'",
          DOC + "warehouse/quarantine-release/post.html, index.html", "confirmed"),
    _fact("POST /warehouse-service/warehouse/{warehouseId}/stock-correction", "corrections [{quantity (negative takes "
          "away), productId, reason, locationId?, cost?}] -> array of goods-note ids; a goods movement each; on hand "
          "cannot go below zero; error codes illustrative", DOC + "warehouse/stock-correction/post.html; NOTES §7", "confirmed"),
    _fact("GET /warehouse-service/warehouse/{warehouseId}/stock-correction/{idset}", "the stock corrections (goods "
          "notes) of the ID set; AIRBYTE reads this after goods-movement-search?goodsNoteTypeCode=SC", AIRBYTE, "recorded"),
    _fact("GET /warehouse-service/product-availability/{idset}", "{id: {total, warehouses: {id: {inStock, onHand, "
          "allocated, inTransit}}}}; unknown ids left out; non-stock-tracked ids: the 'WHSC-097' behaviour",
          REC + "product_availability_get.json; " + AIRBYTE, "recorded"),
    *_search("warehouse-service", "goods-movement", "the documented columns goodsMovementId, productId, salesOrderRowId, "
             "purchaseOrderRowId, quantity, destinationLocationId, warehouseId, goodsNoteId, productValue, currencyCode, "
             "orderId, isCleared, isQuarantine, batchId, goodsNoteTypeCode, then updatedOn (filtered on by integrators)",
             DOC + "warehouse/goods-movement/search.html; " + AIRBYTE + " (updatedOn, goodsNoteTypeCode=SC)", "confirmed"),
    *_search("warehouse-service", "goods-note/goods-out", "documented columns goodsOutNoteId, printed, picked, packed, "
             "shipped, shippedOn, orderId, shippingMethodId, warehouseId, priority, createdOn, releaseDate, createdBy; "
             "no updatedOn, no goodsNoteId (see 'goods-out search columns after createdBy' for labelUri, transfer)",
             DOC + "warehouse/goods-out-note/search.html; " + AIRBYTE + " (reads goodsOutNoteId, pages on createdOn)",
             "confirmed"),
    _fact("POST /warehouse-service/order/{orderId}/reservation/warehouse/{warehouseId}", "reserves (allocates) "
          "products of order rows, partially if short; one reservation per order and warehouse; none available: 400",
          DOC + "warehouse/reservation/post.html; NOTES §5", "confirmed"),
    _fact("PUT /warehouse-service/order/{orderId}/reservation/warehouse/{warehouseId}", "replaces the reservation",
          DOC + "warehouse/reservation/put.html", "confirmed"),
    _fact("DELETE /warehouse-service/order/{orderId}/reservation/warehouse/{warehouseId}", "releases the reservation "
          "-> {}", DOC + "warehouse/reservation/delete.html", "confirmed"),
    _fact("GET /warehouse-service/order/{orderId}/reservation", "[{orderId, warehouseId, orderRows: {rowId: "
          "{productId, quantity}}}]; none: 404 CMNC-404", DOC + "warehouse/reservation/get.html; NOTES §5", "confirmed"),
    _fact("POST /warehouse-service/order/{orderId}/goods-note/goods-out", "one note per warehouses[] entry, partial "
          "fulfilment allowed, the note's units allocated; reply: an array of the new note ids (shape inferred)",
          DOC + "warehouse/goods-out-note/post.html; NOTES §8", "confirmed"),
    _fact("GET /warehouse-service/order/{orderIds}/goods-note/goods-out", "the notes of the orders (or * with note "
          "ids), a map note id -> note, orderRows keyed by sales-order row id",
          REC + "goods_out_note__get__all_for_order.json; DOC warehouse/goods-out-note/get.html", "recorded"),
    _fact("GET /warehouse-service/order/{orderIds}/goods-note/goods-out/{noteIds}", "the notes of the ID sets (<= 500)",
          REC + "goods_out_note__get__by_gon_id.json; DOC warehouse/goods-out-note/get.html", "recorded"),
    _fact("POST /warehouse-service/order/{orderId}/goods-note/goods-in", "receives stock against a purchase order or "
          "a sales credit -> {response: noteId}: one warehouse per request, rows by purchaseOrderRowId (a credit's row "
          "id for a credit), part receipts until every unit is received, more than is outstanding refused, "
          "destinationLocationId the default or the quarantine location, userBatchReference unique; in stock rises "
          "by a goods movement per line (codes of refusals illustrative)", DOC + "warehouse/goods-in-note/post.html, "
          "get.html, quarantine-location/index.html; RETURNS §2 (MAG, LAR)", "confirmed"),
    _fact("GET /warehouse-service/order/{orderIds}/goods-note/goods-in", "the goods-in notes of the orders: a map note "
          "id -> {goodsNoteId, orderId, transfer, goodsNoteStatus, userBatchReference, receivedOn, createdBy, "
          "goodsMoved[{productId, purchaseOrderRowId, quantity, warehouseId, destinationLocationId, goodsNoteId, "
          "batchGoodsNoteId, productValue{currency, value}, cleared, valueConfirmed}]}; '*' only with note ids",
          DOC + "warehouse/goods-in-note/get.html", "confirmed"),
    _fact("GET /warehouse-service/order/{orderIds}/goods-note/goods-in/{noteIds}", "the notes of the ID sets (<= 200)",
          DOC + "warehouse/goods-in-note/get.html", "confirmed"),
    _fact("DELETE /warehouse-service/order/{orderId}/goods-note/goods-out/{noteId}", "deletes an open note -> {}; a "
          "shipped one is refused; see 'deleted goods-out note stock'", DOC + "warehouse/goods-out-note/delete.html; "
          "vicvans20/ruby-brightpearl lib/brightpearl/resources/goods_out_note.rb (path)", "confirmed"),
    _fact("PUT /warehouse-service/goods-note/goods-out/{noteId}", "priority, shipping {reference <= 64, "
          "shippingMethodId, boxes, weight}, labelUri -> {}; refused once shipped",
          DOC + "warehouse/goods-out-note/put.html; NOTES §8", "confirmed"),
    _fact("POST /warehouse-service/goods-note/goods-out/{noteId}/event", "events [{eventCode, occured, eventOwnerId}] "
          "-> {}; all three fields required; SHW adds missing PRI/PIC/PAC first; nothing after shipped; If-Match "
          "lastEventVersion mismatch: 412", DOC + "warehouse/goods-out-note-event/post.html", "confirmed"),
    # ---------------------------------------------------------------- contact-service
    _fact("POST /contact-service/postal-address", "creates an address -> {response: id}; only addressLine1 required; "
          "country by countryIsoCode or countryId, optional", DOC + "contact/postal-address/post.html", "confirmed"),
    _fact("GET /contact-service/postal-address/{idset}", "addresses of the ID set (addressId, contactId of the contact "
          "using it, lines, postalCode, countryIsoCode, countryIsoCode2, countryId); a range returns only the ids that "
          "exist; the ID set is mandatory (no address search)", "NOTES §6; " + DOC + "contact/postal-address/get.html "
          "(examples 1 and 2)", "confirmed"),
    _fact("PUT /contact-service/postal-address/{addressId}", "replaces the address's fields (addressLine1 required, "
          "country by countryIsoCode or countryId) -> {}; unknown: 404; see 'contact updatedOn by an address PUT'",
          DOC + "contact/postal-address/put.html", "confirmed"),
    _fact("PATCH /contact-service/contact/{contactId}", "JSON-Patch on the documented paths (see 'contact PATCH') -> "
          "{response: contact} with updatedOn set", DOC + "contact/contact/patch.html; " + REC +
          "customer__patch__simple_patch.json", "recorded"),
    _fact("POST /contact-service/contact", "creates a contact -> {response: id}; emails in communication.emails."
          "{PRI,SEC,TER}.email; see 'contact POST with a top-level emails'", "NOTES §6; " + REC +
          "customer__get__simple_get.json (the nested shape)", "confirmed"),
    _fact("GET /contact-service/contact", "contacts in pages of <= 200 by firstResult / pageSize", "NOTES §4 (contact "
          "GET without ID set pages 200)", "confirmed"),
    _fact("GET /contact-service/contact/{idset}", "contacts of the ID set; none found: 404 CMNC-404 'No Contact Found'",
          REC + "customer__get__simple_get.json, customer__get__multiple_get.json, customer__get__empty_not_found.json",
          "recorded"),
    _fact("OPTIONS /contact-service/contact", "getUris of every contact", REC + "customer__options__simple_options.json",
          "recorded"),
    _fact("OPTIONS /contact-service/contact/{idset}", "getUris of the ID set's contacts",
          REC + "customer__options__simple_options.json", "recorded"),
    *_search("contact-service", "contact", "columns as recorded; primaryEmail is a fuzzy SEARCH_STRING",
             REC + "customer__search__simple_search.json", "recorded"),
    # ---------------------------------------------------------------- order-service
    _fact("POST /order-service/order", "low-level order header (orderTypeCode required: SO, SC, PO; PC refused after "
          "the recorded ORDC-022 check) -> {response: id}; a purchase order names parties.supplier.contactId (else "
          "400 ORDC-022 'Suppllier ID Required.'), see 'purchase orders'", REC + "order_post_so.json, order_post_sc.json, "
          "order_post_po.json, order_post_error_missing_required.json, order_post_error_unknown.json, "
          "order_post_error_wrong_party.json; DOC order/order/post.html", "recorded"),
    _fact("POST /order-service/order/{orderId}/row", "adds a row -> {response: rowId}; a sales order's new row is "
          "allocated like a new order's", REC + "order_row_post.json", "recorded"),
    _fact("GET /order-service/order/{idset}", "orders of the ID set, recorded shape (orderRows keyed by row id, parties, "
          "totalValue, status codes); missing ids left out: 200 {response: []}; updatedOn absent until modified",
          REC + "order_get_one.json, order_get_multiple.json, order_get_empty_not_found.json", "recorded"),
    _fact("PATCH /order-service/order/{orderId}", "JSON-Patch on the documented paths -> the order (see 'order "
          "PATCH'); another op or path: 500 CMNC-044", DOC + "order/order/patch.html; " + REC + "order_patch.json, "
          "order_patch_error_operation.json", "confirmed"),
    _fact("OPTIONS /order-service/order", "getUris of every order", REC + "order_options.json", "recorded"),
    _fact("OPTIONS /order-service/order/{idset}", "getUris of the ID set's orders", REC + "order_options.json", "recorded"),
    _fact("PUT /order-service/order/{orderId}/status", "{orderStatusId, orderNote?} -> {}; cancelling needs no "
          "goods-out notes, not paid, not invoiced, and releases the allocation; see 'cancel after a payment reversal'",
          REC + "order_status_update_put.json; DOC order/order-status-update/put.html", "recorded"),
    _fact("POST /order-service/order/{orderId}/note", "{text (required), isPublic?, addedOn?, fileId?} -> {response: "
          "note id}; isPublic defaults to false; the order is not otherwise changed",
          DOC + "order/order-note/post.html", "confirmed"),
    _fact("GET /order-service/order/{orderId}/note", "every note on the order: noteId, contactId, text, isPublic, "
          "addedOn, orderStatusId (the status when it was added); notes added by the status PUT's orderNote included",
          DOC + "order/order-note/get.html", "confirmed"),
    _fact("cancel after a payment reversal", "a sales order is cancellable once its payments net to zero (a PAYMENT "
          "reversing the RECEIPT or CAPTURE) and no authorisation is left open",
          HELP + "211131486 ('a reverse payment can be entered to set the order back to being unpaid'), "
          "212648443 (scenario 2: allocate a negative payment, then cancel)", "confirmed"),
    _fact("POST /order-service/sales-order", "atomic order with rows -> {response: id}; see 'allocation on order "
          "create' and 'duplicate sales-order POST'", DOC + "order/sales-order/post.html; NOTES §5", "confirmed"),
    _fact("GET /order-service/sales-order/{idset}", "sales orders in the sales-order shape (rows array, total, "
          "externalRef, installedIntegrationInstanceId)", DOC + "order/sales-order/get.html; NOTES §5", "confirmed"),
    _fact("OPTIONS /order-service/sales-order", "getUris of every sales order", "NOTES §4 (OPTIONS for sales-order)",
          "confirmed"),
    _fact("OPTIONS /order-service/sales-order/{idset}", "getUris of the ID set's sales orders",
          "NOTES §4 (OPTIONS for sales-order)", "confirmed"),
    _fact("POST /order-service/sales-credit", "a sales credit (sales-order shape: customer, parentId, rows with "
          "productId or name, net, tax as row totals) -> {response: id}; see 'credit parent' and 'duplicate "
          "sales-credit POST'", DOC + "order/sales-credit/post.html; RETURNS §1 (MED, MAG)", "confirmed"),
    _fact("GET /order-service/sales-credit/{idset}", "sales credits in the sales-order shape; 207 when only some of "
          "the ID set exist, 200 otherwise (an empty list when none)", DOC + "order/sales-credit/get.html", "confirmed"),
    _fact("POST /order-service/sales-credit/{creditId}/close", "{} or {taxDate} -> {}: the credit is invoiced (invoice "
          "reference SC-n, closedOn, state.tax INVOICED); closing an invoiced credit: 400 (code illustrative); see "
          "'credit reference'", DOC + "order/sales-credit-close/post.html; RETURNS §1", "confirmed"),
    *_search("order-service", "order", "columns as recorded (orderId, orderTypeId, contactId, orderStatusId, ..., "
             "customerRef, updatedOn, externalRef, installedIntegrationInstanceId, ...); reference block of names",
             REC + "order_search.json, order_search_bad_param.json", "recorded"),
    *_search("order-service", "sales-order", "salesOrderId, customerId, status codes, channelId, ...; filters productIds, "
             "customerRefs, isHistoricalOrder", DOC + "order/sales-order/search.html; NOTES §4", "confirmed"),
    *_reference("order-service", "order-status", "order status (per account: statusId, name, orderTypeCode, ...)",
                REC + "order_status_get.json", "recorded"),
    *_reference("order-service", "order-shipping-status", "shipping status NST/SNS/SPS/ASS",
                REC + "order_shipping_status_get.json", "recorded"),
    *_reference("order-service", "order-stock-status", "stock status", REC + "order_stock_status_get.json, "
                "order_stock_status_get_by_id.json", "recorded"),
    *_reference("order-service", "order-type", "order type {id, name}", REC + "order_type_get.json, "
                "order_type_get_by_id.json", "recorded"),
    # ---------------------------------------------------------------- accounting-service
    *_reference("accounting-service", "tax-code", "tax code {id, code, description, rate?}: T1 20 %, T5 5 %, T0 zero, "
                "Z exempt (spelled like the recording: short codes, zero rate omitted)",
                REC + "tax_code_get.json, tax_code_get_by_id.json", "recorded"),
    *_reference("accounting-service", "payment-method", "payment method (see 'payment-method shape')",
                DOC + "accounting/payment-method/get.html; " + REC + "payment_method_get.json, payment_method_get_by_id.json",
                "confirmed"),
    *_reference("accounting-service", "nominal-code", "nominal code", REC + "nominal_code_get.json, "
                "nominal_code_get_by_id.json", "recorded"),
    _fact("POST /accounting-service/customer-payment", "-> {response: id}; paymentMethodCode, paymentType, orderId, "
          "currencyIsoCode, paymentDate required; see 'customer payment rules'",
          DOC + "accounting/customer-payment/post.html; " + REC + "customer_payment__post__receipt.json", "confirmed"),
    _fact("DELETE /accounting-service/customer-payment/{paymentId}", "-> {}; unknown: 404",
          REC + "customer_payment__delete__success.json", "recorded"),
    _fact("GET /accounting-service/sale-payment-total/{idset}", "per order {orderId, paymentCurrency, amountPaid, "
          "amountAuthorized, amountCaptured} as JSON numbers; amountPaid = RECEIPT + CAPTURE - PAYMENT (negative for a "
          "refunded credit), amountAuthorized = AUTH - VOID, amountCaptured = CAPTURE; no payments: zeros and no "
          "paymentCurrency; see 'sale-payment-total of an unknown order'", DOC + "accounting/sale-payment-total/get.html",
          "confirmed"),
    *_search("accounting-service", "customer-payment", "columns as recorded (paymentId, transactionRef, ..., journalId)",
             REC + "customer_payment__search__simple_search.json", "recorded"),
    _fact("GET /accounting-service/journal/{idset}", "{response: {journals: [{id, contactId, journalTypeCode, taxDate, "
          "createdOn, credits: [{nominalCode, change: {value}, assignment, orderId, transactionAmount}], debits, "
          "currencyId, exchangeRate}]}}; unknown ids left out (not found: no source)", DOC + "accounting/journal/get.html "
          "(example)", "confirmed"),
    _fact("POST /accounting-service/journal", "{journalTypeCode, taxDate (yyyy-mm-dd), description, credits / debits: "
          "[{nominalCode, taxCode, change: {currency, value}, assignment}]} -> {response: id}; a repeat creates a second "
          "journal (no natural key)", DOC + "accounting/journal/post(deprecated).html (example)", "confirmed"),
    _fact("journal POST validation", "journal type code and date required, nominal codes must exist, "
          "the account's currency, a tax code on bank nominal lines (the Journal Entry POST doc's common rules, which the "
          "journal POST shares); debits = credits (double entry); error codes illustrative",
          DOC + "accounting/journal entry/post.html (common validation rules)", "confirmed"),
    *_search("accounting-service", "journal", "one row per journal line; the documented columns journalId, journalType, "
             "orderId, invoiceReference, channelId, nominalCode, journalDate (the journal's date, taxDate), journalDebit / journalCredit (base "
             "currency), journalRef, currencyId, exchangeRate, transactionDebit / transactionCredit (the journal's "
             "currency), projectId, leadSourceId (the page's table is cut after leadSourceId)",
             DOC + "accounting/journal/search.html", "confirmed"),
    *_search("accounting-service", "currency", "columns id, title, code, symbol, exchangeRate, isDefault, "
             "exchangeRateVarianceNominalCode", REC + "currency_search.json, currency_search_by_code.json", "recorded"),
    # ---------------------------------------------------------------- integration-service
    _fact("POST /integration-service/webhook", "stores a subscription -> {response: id}; an event that cannot be "
          "subscribed to: 400 INTC-064 (recorded); other field rules from the doc, their codes illustrative; "
          "delivered (see the webhook delivery behaviours)", DOC + "integration/webhook/post.html; " + REC + "webhook__post__create.json, "
          "webhook__post__error_invalid_params.json; HELP 212644863 (events)", "confirmed"),
    _fact("GET /integration-service/webhook", "every stored subscription", DOC + "integration/webhook/get.html",
          "confirmed"),
    _fact("GET /integration-service/webhook/{idset}", "the subscriptions of the ID set; none: 404 CMNC-404 'No webhooks "
          "available in ID Set <ids>'", REC + "webhook__get__single.json, webhook__get__not_found.json", "recorded"),
    _fact("DELETE /integration-service/webhook/{webhookId}", "-> {}; unknown: 404 CMNC-404 'Cannot find webhook: <id>'",
          REC + "webhook__delete__success.json, webhook__delete__not_found.json", "recorded"),
]

BEHAVIOURS: list[Fact] = [
    # ---------------------------------------------------------------- webhook delivery (sandbox/brightpearl/webhooks.py)
    _fact("webhook events raised", "product.modified.on-hand-modified on a goods movement and on allocation; "
          "goods-out-note.modified.{printed,picked,packed,un-printed,un-picked,un-packed,shipped} on the note's event; "
          "order.modified.order-status on a status change; sales-order.created on the sales-order POST only; a "
          "subscription to the event or to its bare resource receives it",
          HELP + "212644883 (events); " + HELP + "212644863 (naming, bare resource)", "confirmed"),
    _fact("webhook on-hand event on allocation", "allocation (which changes on hand without a goods movement) raises "
          "product.modified.on-hand-modified too", "help 211131266 says allocation reduces on hand; whether the event "
          "fires then is not said", "inferred", _option("webhook_on_hand_by")),
    _fact("webhook request", "httpMethod to uriTemplate with bodyTemplate and contentType, variables ${account-code} "
          "${resource-type} ${resource-id} ${lifecycle-event} ${resource-specifier} ${full-event} ${raised-on} "
          "${brightpearl-version} filled in; idSetAccepted: one request with the ID set, else one per id",
          DOC + "integration/webhook-simulate/post.html; " + DOC + "integration/webhook/post.html; NOTES §10 "
          "(a delivered body, raisedOn 2022-09-19T10:20:41.691Z)", "confirmed"),
    _fact("webhook retries", "QoS 0: a failed request is retried only after a 503; QoS 1: retried except after a 4xx",
          DOC + "integration/webhook/post.html", "confirmed"),
    _fact("webhook retry schedule", "waits 1, 2, 4, 8, 16, 32 s between attempts, then gives up; 10 s timeout",
          "no source (undocumented)", "inferred", _option("webhook_retry_delays_seconds") + ", webhook_timeout_seconds"),
    _fact("webhook ID set grouping", "ids raised by the same event within one window (20 ms) share one request",
          "no source (the simulate doc shows one request per ID set)", "inferred", _option("webhook_id_set_window_seconds")),
    _fact("webhook missed", "an event may never be delivered (default never; a chance per delivery when set)",
          "an integrator's note that Brightpearl does not guarantee a notification for every inventory change "
          "(annex-notifier plans page); the rate is unknown", "inferred", _option("webhook_drop_chance")),
    # ---------------------------------------------------------------- wire
    _fact("auth", "private app: brightpearl-app-ref + brightpearl-account-token or brightpearl-staff-token; OAuth: "
          "Bearer + app ref + dev ref; refused: 401 {response: 'Invalid instance token: <token>'} or "
          "'Authorization token expired', Message-Type: api-proxy, no WWW-Authenticate",
          REC + "client_error_invalid.json, client_error_expired.json, client__search_error.json; HELP 211124966, "
          "4414311366545", "recorded"),
    _fact("auth of another account code", "a request on another account code's path: 401 'Invalid instance token'",
          "no source (tokens belong to one account)", "inferred", _option("other_account_code")),
    _fact("default location reply", "the default location GET answers {response: <location id>}", "no source shows "
          "the reply", "inferred", _option("default_location_reply")),
    _fact("OAuth token", "POST /oauth/token/{account} (and /token/{account}), form-encoded; authorization_code and "
          "refresh_token grants, refresh tokens rotate, recorded error bodies",
          REC + "auth_request_token*.json, auth_use_refresh_token.json; DOC utilities/oauth-token/post.html", "recorded"),
    _fact("throttle", "200 requests per rolling minute per account; over it 503 with brightpearl-next-throttle-period "
          "(ms); brightpearl-requests-remaining on every reply; body text as the Java client's fixture",
          "HELP 212644823; REC (headers on every recording); davemorrissey/brightpearl-api-client-java fixture", "confirmed"),
    _fact("installation header", "brightpearl-installed-integration-instance-id on authenticated replies",
          REC + "order_search_bad_param.json ('11'), webhook__*.json ('34'); absent in payment_method_get.json",
          "recorded"),
    _fact("installation header value", "which instance id the account names, or none", "recordings differ per account",
          "inferred", _option("installed_integration_instance_id")),
    _fact("envelopes", "{response: ...} or {errors: [{code, message}]}, never both; nulls omitted; POST create "
          "{response: id}; PUT/DELETE {}", "HELP 212644943; REC (every recording)", "confirmed"),
    _fact("dates", "ISO-8601 with milliseconds and an explicit offset", REC + "order_get_one.json", "recorded"),
    _fact("ID sets", "8, 1-100 (ascending), 1,5,9, mixed; GET caps 200 (order, sales-order, product, contact, "
          "availability), 500 goods-out; over the cap: 400 (code illustrative)", "HELP 211125046; DOC product/product/"
          "options.html, warehouse/goods-out-note/get.html", "confirmed"),
    _fact("not found", "order GET: 200 {response: []}; contact, product, prices, webhooks, reservations: 404 CMNC-404",
          REC + "order_get_empty_not_found.json, customer__get__empty_not_found.json, product_price_get_not_found.json, "
          "webhook__get__not_found.json", "recorded"),
    _fact("unknown route", "404 CMNC-404 / 405 in the API's envelope", "HELP 212644843 (404 = nothing found)", "confirmed"),
    # ---------------------------------------------------------------- search
    _fact("search paging", "pageSize <= 500, 1-based firstResult, metaData morePagesAvailable / resultsAvailable / "
          "first-lastResult (absent when empty), rows positional in metaData.columns order",
          REC + "order_search.json; " + AIRBYTE + " (firstResult = lastResult + 1)", "recorded"),
    _fact("search filter types", "IDSET, INTEGER, BOOLEAN, PERIOD (start/end, open start/), SEARCH_STRING (contains), "
          "STRING, STRING_SET; a value that does not parse: 500 CMNC-018 'The filter x=y cannot be parsed as: TYPE'",
          REC + "order_search_bad_param.json, product_search_bad_param.json; NOTES §4", "recorded"),
    _fact("unknown search parameter", "a column, sort or filter the resource does not have: 500 CMNC-018 (the recorded "
          "search error; its text for this case is inferred)", REC + "order_search_bad_param.json (envelope)", "inferred",
          _option("unknown_search_parameter")),
    _fact("PERIOD end bound", "a PERIOD filter's end is inclusive", "no source", "inferred", _option("period_filter_end")),
    _fact("STRING filter case", "STRING filters match ignoring case", "no source", "inferred", _option("string_filter_case")),
    _fact("pageSize over 500", "clamped to 500", "NOTES §4 (observed default page 500, RSM)", "inferred",
          _option("page_size_over_max")),
    _fact("goods-out search columns after createdBy", "labelUri and transfer (the doc page's table breaks off at "
          "'labe...'; the usefulapi Brightpearl MCP tool names transfer)", DOC + "warehouse/goods-out-note/search.html",
          "inferred", _option("unknown_search_parameter") + " ('ignore' lets a client ask for any column)"),
    # ---------------------------------------------------------------- orders
    _fact("duplicate sales-order POST", "a repeat of externalRef + installedIntegrationInstanceId answers 200 and "
          "changes nothing", DOC + "order/sales-order/post.html", "confirmed"),
    _fact("duplicate sales-order POST reply", "the 200's body: the existing order's id (likeliest) or {}",
          "UNCONFIRMED: the doc says 200 with no change, not what the body carries", "inferred",
          _option("duplicate_sales_order_reply")),
    _fact("updatedOn of a new order", "null in order-search, absent from order GET until the order is first modified; "
          "a PATCH does not set it", REC + "order_search.json (null updatedOn), order_patch.json (no updatedOn after "
          "PATCH, version 1)", "recorded"),
    _fact("what modifies an order", "rows added, status changes, payments, goods-out notes, shipping, later "
          "reservations, a credit's close and goods-in notes set updatedOn and version (a status change is an order modification event: "
          "order.modified.order-status, HELP 212644883)", "no source lists what sets updatedOn", "inferred",
          _option("order_modified_by")),
    _fact("order PATCH", "paths /reference (replace, remove), /warehouseId (replace; not once stock is allocated), "
          "/delivery/shippingMethodId (replace, remove), /delivery/deliveryDate (replace), /parties/customer/contactId, "
          "/parties/billing/contactId (replace); not on an invoiced order; at least one field must change (codes of "
          "these refusals illustrative)", DOC + "order/order/patch.html; " + REC + "order_patch.json, "
          "order_patch_error_operation.json", "confirmed"),
    _fact("derived order state", "orderPaymentStatus from payments (RECEIPT + CAPTURE - PAYMENT), stock / allocation "
          "/ shipping codes from reservations and goods-out notes", "NOTES §5, §9; DOC order/order/get.html", "confirmed"),
    # ---------------------------------------------------------------- returns and refunds
    _fact("credit payment status", "a credit is settled by money paid out: PAYMENT - RECEIPT - CAPTURE against its "
          "total gives PAID / PARTIALLY_PAID / UNPAID (NOT_APPLICABLE at zero)", HELP + "360032990492 ('pay the customer "
          "for either the full value or part of the value of the credit, and mark the credit as paid'), 212648603 "
          "(statuses); DOC accounting/customer-payment (PAYMENT: 'eg to refund a Sales Credit')", "confirmed"),
    _fact("duplicate sales-credit POST", "externalRef + installedIntegrationInstanceId form a unique compound key "
          "(per order type: a credit may carry its sales order's externalRef)", DOC + "order/sales-credit/post.html",
          "confirmed"),
    _fact("duplicate sales-credit POST reply", "the repeat answers 200 with the existing credit's id (like the sales "
          "order POST), or {} or 400", "UNCONFIRMED: the doc's sentence on the repeat is cut off ('If another cred...')",
          "inferred", _option("duplicate_sales_credit_reply")),
    _fact("credit parent", "parentId may name any existing order", DOC + "order/sales-credit/post.html ('link your "
          "new credit to an existing order'); RETURNS §7 (a sales order of the same customer: UNCONFIRMED)", "inferred",
          _option("credit_parent")),
    _fact("credit reference", "a closed credit's invoice reference is SC-n, n an account-wide counter from 1",
          "RETURNS §1 (reference SC-n once credited, HELP-360027778731); the numbering is not documented", "inferred",
          _option("credit_reference")),
    _fact("sale-payment-total of an unknown order", "an id that is no order is left out", "no source", "inferred",
          _option("sale_payment_total_unknown_order")),
    _fact("purchase orders", "rows priced from the supplier's price list (cost), itemCost = unit net and productPrice "
          "0 (as recorded), deliveryDate defaulting to today plus the supplier's leadTime; stockStatusCode PON/POP/POA "
          "from goods-in receipts, allocationStatusCode ANR, shippingStatusCode SNS; parties.supplier, delivery to the "
          "account", REC + "order_get_one_po.json, order_post_po.json; DOC order/order/post.html (delivery.deliveryDate); "
          + HELP + "211131986 (a purchase's inventory status from goods received)", "recorded"),
    _fact("credit stock status", "a credit's stockStatusCode SCN/SCP/SCA from its goods-in receipts, allocation ANR",
          "NOTES §5 (SC* analogues of the stock codes); " + HELP + "211131986 (the purchase analogue)", "confirmed"),
    _fact("order search by externalRefSearchString", "order-search takes externalRefSearchString (a contains match, "
          "not a column)", MAG + " serchSalesCreditByExternalRef", "recorded"),
    _fact("goods-in movement type", "goods movements of a goods-in note carry goodsNoteTypeCode GI", "DOC "
          "warehouse/goods-movement/search.html lists the column, its value list is cut off", "inferred",
          _option("goods_in_movement_type")),
    _fact("goods-in note status", "a received note's goodsNoteStatus is OPEN", DOC + "warehouse/goods-in-note/get.html "
          "(OPEN, CLOSED or CANCELLED; which one a receipt has is not said)", "inferred", _option("goods_in_note_status")),
    _fact("empty goods-in GET", "a goods-in GET that finds nothing: 200 {response: {}}", "no source", "inferred",
          _option("empty_goods_in_get")),
    _fact("goods-in part receipts of a credit", "a credit's goods can be received in parts, like a purchase order's",
          DOC + "warehouse/goods-in-note/post.html (part receipts; the same endpoint for credits: get.html); RETURNS §2 "
          "(the UI receives a credit all at once; API part receipts UNCONFIRMED)", "confirmed"),
    _fact("goods-in into quarantine", "a goods-in line to the quarantine location raises in stock but not on hand",
          DOC + "warehouse/quarantine-location/index.html ('Stock can be moved into quarantine by using Goods-In "
          "Notes'; 'not available for sale, allocation or Reservation')", "confirmed"),
    _fact("quarantine location reply", "the quarantine location GET answers {response: <location id>}", "no source "
          "shows the reply (the doc: 'a special form of Location GET')", "inferred", _option("quarantine_location_reply")),
    _fact("quarantine in availability", "quarantined units count in inStock, never in onHand", HELP + "211131266 "
          "(in stock: every unit in the warehouse); DOC warehouse/quarantine-location/index.html (present, not for sale)",
          "inferred", _option("quarantine_stock")),
    _fact("quarantine release", "more units than are quarantined (but some): refused with WHSB-023; the release "
          "records goods movements (IT) out of quarantine and into the target location", DOC + "warehouse/"
          "quarantine-release/post.html (WHSB-023 when none; 'a special Internal Transfer')", "inferred",
          _option("quarantine_release_short") + ", " + _option("quarantine_release_movements")),
    # ---------------------------------------------------------------- catalogue and contacts
    _fact("product updatedOn", "a product PUT sets updatedOn and version (version = updatedOn in ms, as recorded); "
          "price PUTs and goods movements do not", REC + "product_get_one.json (version 1594021716000 = updatedOn); "
          "DOC product/product/put.html; whether prices or stock move it: no source (a hint only: product 1532 of "
          "product_get_multiple.json was updated 2 s after purchase order 312 was placed)", "inferred",
          _option("product_updated_on_by")),
    _fact("product weight, dimensions, short description", "GET: stock.weight.magnitude, stock.dimensions.{length, "
          "height, width, volume} (0.0 when never entered), salesChannels[0].shortDescription.text; a PUT sending them "
          "changes them (numbers not negative; refusal code illustrative)", REC + "product_get_one.json (shapes, 0.0 "
          "values); DOC product/product/put.html (the PUT takes the product's sections); which keys the PUT accepts "
          "inside stock: no recording (UNCONFIRMED; the simulator is lenient and takes them)", "recorded"),
    _fact("product PUT omitted fields", "a product PUT keeps the fields it does not send", REC + "product_put.json "
          "(a PUT of salesChannels only); the doc does not say", "inferred", _option("product_put")),
    _fact("contact PATCH", "paths /salutation (test, add, replace, remove), /firstName, /lastName (test, add, "
          "replace), /communication/telephones/{PRI,SEC,MOB,FAX} and /communication/emails/{PRI,SEC,TER}/email (every "
          "op), /marketingDetails/isReceiveEmailNewsletter (test, replace), /leadTime, /companyId (replace); the POST's "
          "validation; another op or path: 500 CMNC-044 (the order PATCH's recorded error; for contacts inferred, like "
          "the failed-test code)", DOC + "contact/contact/patch.html; " + REC + "order_patch_error_operation.json",
          "confirmed"),
    _fact("contact updatedOn", "a contact PATCH sets updatedOn (visible in contact-search)", REC +
          "customer__patch__simple_patch.json (updatedOn 15:19:52 after customer__get__simple_get.json's 14:59:22 the "
          "same day)", "recorded"),
    _fact("contact updatedOn by an address PUT", "a postal-address PUT does not set its contact's updatedOn",
          "no source", "inferred", _option("contact_updated_on_by_address")),
    # ---------------------------------------------------------------- stock
    _fact("stock levels", "on hand = in stock - allocated; allocated = reserved + on open goods-out notes; only goods "
          "movements change in stock", HELP + "211131266 (Understanding Inventory Levels)", "confirmed"),
    _fact("allocation on order create", "a new sales order allocates the on-hand stock of its stock-tracked rows in "
          "its warehouse (partially if short): on hand drops, no goods movement", HELP + "211131266 ('If a customer "
          "places a sale on a channel, and there is inventory available, then that inventory is allocated ... The "
          "on-hand quantity is reduced')", "confirmed"),
    _fact("allocation on create per channel", "which channels allocate automatically (default: every channel but 2, "
          "the phone channel: manually entered orders are not allocated automatically)",
          HELP + "211131506 (Allocation: automatic for downloaded orders, not for manually entered or imported ones)",
          "inferred", _option("allocate_on_create") + ", " + _option("allocate_on_create_default") + ", "
          + _option("allocate_on_create_warehouses") + " (per warehouse)"),
    _fact("WHSC-097", "availability of a non-stock-tracked product: 400 WHSC-097 'This is a non stock tracked product.' "
          "(one id) / 'These are non stock tracked products.' (several)", AIRBYTE, "recorded"),
    _fact("WHSC-097 scope", "whether one non-stock-tracked id fails the whole ID set (default), only an all-untracked "
          "set, or is left out", "AIRBYTE drops the whole chunk on WHSC-097; no source settles mixed sets", "inferred",
          _option("non_stock_tracked_availability")),
    _fact("goods movement time", "a shipped goods-out note's movement is recorded when the shipping is posted, whatever "
          "its occured says", HELP + "211279306 ('Inventory movements cannot be back-dated')", "confirmed"),
    _fact("empty goods-out GET", "a goods-out GET that finds nothing: 200 {response: {}}", "no source", "inferred",
          _option("empty_goods_out_get")),
    _fact("deleted goods-out note stock", "the units of a deleted open note go back on hand", "no source", "inferred",
          _option("deleted_goods_out_stock")),
    # ---------------------------------------------------------------- contacts
    _fact("postal address country", "optional; an address without one takes the account's country (GBR)",
          DOC + "contact/postal-address/post.html (only addressLine1 required)", "inferred",
          _option("default_country_iso3")),
    _fact("contact POST with a top-level emails", "refused (400), never dropped silently: the recorded and documented "
          "shape is communication.emails.PRI.email", REC + "customer__get__simple_get.json; NOTES §6", "inferred",
          _option("contact_flat_emails")),
    # ---------------------------------------------------------------- payments
    _fact("customer payment rules", "AUTH needs authorizationExpiry; amountAuthorized for AUTH/VOID, amountPaid for "
          "CAPTURE/PAYMENT/RECEIPT; transactionRef + paymentMethodCode unique (refusal code illustrative); "
          "paymentMethodCode not checked against the payment methods; a Sales Receipt journal (journalId) only for "
          "RECEIPT, PAYMENT, CAPTURE with a known method", DOC + "accounting/customer-payment/post.html, "
          "accounting/customer-payment (overview)", "confirmed"),
    _fact("sales receipt journal", "a RECEIPT, CAPTURE or PAYMENT whose method exists with a bank account in the "
          "payment's currency creates an SR journal (its id in the payment's journalId): money in debits the bank "
          "nominal and credits debtors 1100, a PAYMENT the reverse; a payment posted with journalId creates none; "
          "deleting a payment leaves its journal", DOC + "accounting/customer-payment (overview); "
          "brightpearl.com/support/topic/accounting-for-sales (Taking payment SR, Make a refund SR, debtors 1100); "
          "docs/reference/returns-refunds.md §1 (journalId suppresses it); HELP 4409025353361 (delete vs cancel)",
          "confirmed"),
    _fact("payment-method shape", "items {id, name} (recorded) merged with {name, code, isActive, bankAccounts, "
          "installedIntegrationId} (documented)", DOC + "accounting/payment-method/get.html; " + REC +
          "payment_method_get.json", "inferred", _option("payment_method_shape")),
    # ---------------------------------------------------------------- webhooks
    _fact("webhook events", "subscribable: resources and their created / modified / destroyed events (goods-out-note, "
          "order, sales-order, product, ...); a bare resource subscribes to all", HELP + "212644863, 212644883; NOTES §10",
          "confirmed"),
]

FACTS: list[Fact] = ROUTES + BEHAVIOURS
