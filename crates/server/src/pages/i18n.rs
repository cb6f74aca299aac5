//! The pages' words in English and Dutch (`l=en`, `l=nl`). Other languages fall back to
//! English.

#[derive(Debug)]
pub(crate) struct Texts {
    pub(crate) lang: &'static str,
    pub(crate) tickets: &'static str,
    pub(crate) seats_left: &'static str,
    pub(crate) sold_out: &'static str,
    pub(crate) service_charge: &'static str,
    pub(crate) add_to_basket: &'static str,
    pub(crate) basket: &'static str,
    pub(crate) empty_basket: &'static str,
    pub(crate) products: &'static str,
    pub(crate) total: &'static str,
    pub(crate) update: &'static str,
    pub(crate) add: &'static str,
    pub(crate) more_tickets: &'static str,
    pub(crate) checkout: &'static str,
    pub(crate) back_to_site: &'static str,
    pub(crate) customer: &'static str,
    pub(crate) name: &'static str,
    pub(crate) email: &'static str,
    pub(crate) delivery: &'static str,
    pub(crate) payment: &'static str,
    pub(crate) save: &'static str,
    pub(crate) done: &'static str,
    pub(crate) pay: &'static str,
    pub(crate) order: &'static str,
    pub(crate) order_confirmed: &'static str,
    pub(crate) order_not_paid: &'static str,
    pub(crate) psp_title: &'static str,
    pub(crate) psp_amount: &'static str,
    pub(crate) psp_pay: &'static str,
    pub(crate) psp_cancel: &'static str,
    pub(crate) psp_fail: &'static str,
    pub(crate) error_title: &'static str,
    pub(crate) msg_soldout: &'static str,
    pub(crate) msg_notonsale: &'static str,
    pub(crate) msg_empty: &'static str,
    pub(crate) msg_expired: &'static str,
    pub(crate) msg_incomplete: &'static str,
    pub(crate) msg_invalid: &'static str,
    pub(crate) msg_cancelled: &'static str,
    pub(crate) msg_failed: &'static str,
    pub(crate) msg_closed: &'static str,
    pub(crate) msg_noedit: &'static str,
}

const EN: Texts = Texts {
    lang: "en",
    tickets: "Tickets",
    seats_left: "seats left",
    sold_out: "Sold out",
    service_charge: "service charge",
    add_to_basket: "Add to basket",
    basket: "Your basket",
    empty_basket: "Your basket is empty.",
    products: "Extras",
    total: "Total",
    update: "Update",
    add: "Add",
    more_tickets: "Change tickets",
    checkout: "Checkout",
    back_to_site: "Back to the website",
    customer: "Your details",
    name: "Name",
    email: "E-mail",
    delivery: "Delivery",
    payment: "Payment method",
    save: "Save",
    done: "done",
    pay: "Pay now",
    order: "Order",
    order_confirmed: "Thank you! Your order is confirmed.",
    order_not_paid: "This order is not paid yet.",
    psp_title: "Test payment provider",
    psp_amount: "Amount to pay",
    psp_pay: "Pay",
    psp_cancel: "Cancel",
    psp_fail: "Simulate a failed payment",
    error_title: "Something is not right",
    msg_soldout: "Not enough seats are left for that many tickets.",
    msg_notonsale: "That is not on sale.",
    msg_empty: "Your basket is empty.",
    msg_expired: "Your reservation has expired; please choose your tickets again.",
    msg_incomplete: "Please complete every step before paying.",
    msg_invalid: "Please check what you entered.",
    msg_cancelled: "The payment was cancelled. You can try again.",
    msg_failed: "The payment failed. You can try again.",
    msg_closed: "This payment is already finished.",
    msg_noedit: "This basket cannot be changed here.",
};

const NL: Texts = Texts {
    lang: "nl",
    tickets: "Tickets",
    seats_left: "plaatsen vrij",
    sold_out: "Uitverkocht",
    service_charge: "servicekosten",
    add_to_basket: "In winkelmandje",
    basket: "Uw winkelmandje",
    empty_basket: "Uw winkelmandje is leeg.",
    products: "Extra's",
    total: "Totaal",
    update: "Bijwerken",
    add: "Toevoegen",
    more_tickets: "Tickets wijzigen",
    checkout: "Afrekenen",
    back_to_site: "Terug naar de website",
    customer: "Uw gegevens",
    name: "Naam",
    email: "E-mail",
    delivery: "Levering",
    payment: "Betaalwijze",
    save: "Opslaan",
    done: "klaar",
    pay: "Nu betalen",
    order: "Bestelling",
    order_confirmed: "Bedankt! Uw bestelling is bevestigd.",
    order_not_paid: "Deze bestelling is nog niet betaald.",
    psp_title: "Testbetaalprovider",
    psp_amount: "Te betalen",
    psp_pay: "Betalen",
    psp_cancel: "Annuleren",
    psp_fail: "Mislukte betaling nabootsen",
    error_title: "Er klopt iets niet",
    msg_soldout: "Er zijn niet genoeg plaatsen meer vrij voor zoveel tickets.",
    msg_notonsale: "Dat is niet te koop.",
    msg_empty: "Uw winkelmandje is leeg.",
    msg_expired: "Uw reservatie is verlopen; kies uw tickets opnieuw.",
    msg_incomplete: "Vul eerst elke stap in voor u betaalt.",
    msg_invalid: "Controleer wat u invulde.",
    msg_cancelled: "De betaling werd geannuleerd. U kunt het opnieuw proberen.",
    msg_failed: "De betaling is mislukt. U kunt het opnieuw proberen.",
    msg_closed: "Deze betaling is al afgehandeld.",
    msg_noedit: "Dit winkelmandje kan hier niet gewijzigd worden.",
};

impl Texts {
    pub(crate) fn for_lang(lang: Option<&str>) -> &'static Texts {
        match lang {
            Some("nl") => &NL,
            _ => &EN,
        }
    }

    /// The text of a message key passed along a redirect (`?msg=`); unknown keys show
    /// nothing, so the URL cannot inject text.
    pub(crate) fn message(&self, key: Option<&str>) -> Option<&'static str> {
        Some(match key? {
            "soldout" => self.msg_soldout,
            "notonsale" => self.msg_notonsale,
            "empty" => self.msg_empty,
            "expired" => self.msg_expired,
            "incomplete" => self.msg_incomplete,
            "invalid" => self.msg_invalid,
            "cancelled" => self.msg_cancelled,
            "failed" => self.msg_failed,
            "closed" => self.msg_closed,
            "noedit" => self.msg_noedit,
            _ => return None,
        })
    }
}

/// The message key for a shop rule the shopper ran into.
pub(crate) fn rule_key(rule: &shop::ShopRule) -> &'static str {
    use shop::ShopRule;
    match rule {
        ShopRule::SoldOut { .. } => "soldout",
        ShopRule::NotOnSale => "notonsale",
        ShopRule::EmptyBasket => "empty",
        ShopRule::NoOpenOrder => "expired",
        ShopRule::Incomplete(_) => "incomplete",
        ShopRule::InvalidInput(_)
        | ShopRule::TooManyOfOnePrice { .. }
        | ShopRule::TooManyTickets { .. }
        | ShopRule::TooManyOfOneProduct { .. } => "invalid",
        ShopRule::PaymentClosed | ShopRule::PaymentMismatch => "closed",
    }
}
