//! The pages' words in English and Dutch (`l=en`, `l=nl`), and how each language writes
//! money and dates. Other languages fall back to English.

mod en;
pub(crate) mod format;
mod nl;

pub(crate) use format::{EventDate, money};

/// Every text a page prints, in one language.
#[derive(Debug)]
pub(crate) struct Texts {
    pub(crate) lang: &'static str,
    /// The other language this shop speaks, and the switch's label in that language.
    pub(crate) other_lang: &'static str,
    pub(crate) other_lang_name: &'static str,
    pub(crate) decimal_separator: char,
    pub(crate) group_separator: char,
    pub(crate) weekdays: [&'static str; 7],
    pub(crate) months: [&'static str; 12],

    pub(crate) steps: &'static str,
    pub(crate) step_tickets: &'static str,
    pub(crate) step_basket: &'static str,
    pub(crate) step_details: &'static str,
    pub(crate) step_payment: &'static str,
    pub(crate) step_done: &'static str,
    pub(crate) step_done_mark: &'static str,

    pub(crate) tickets: &'static str,
    pub(crate) choose_tickets: &'static str,
    pub(crate) seats_left_before: &'static str,
    pub(crate) seats_left: &'static str,
    pub(crate) sold_out: &'static str,
    pub(crate) sold_out_text: &'static str,
    pub(crate) no_more_seats: &'static str,
    pub(crate) service_charge: &'static str,
    pub(crate) per_ticket: &'static str,
    pub(crate) add_to_basket: &'static str,
    pub(crate) update_basket: &'static str,
    pub(crate) basket: &'static str,
    pub(crate) view_basket: &'static str,
    pub(crate) in_basket: &'static str,
    pub(crate) items: &'static str,
    pub(crate) empty_basket: &'static str,
    pub(crate) choose_tickets_link: &'static str,
    pub(crate) expired_title: &'static str,
    pub(crate) expired_text: &'static str,
    pub(crate) choose_again: &'static str,
    pub(crate) held_until: &'static str,
    pub(crate) products: &'static str,
    pub(crate) service_charges: &'static str,
    pub(crate) total: &'static str,
    pub(crate) update: &'static str,
    pub(crate) add: &'static str,
    pub(crate) change_tickets: &'static str,
    pub(crate) checkout: &'static str,
    pub(crate) back_to_site: &'static str,
    pub(crate) back_to_basket: &'static str,

    pub(crate) customer: &'static str,
    pub(crate) name: &'static str,
    pub(crate) email: &'static str,
    pub(crate) email_hint: &'static str,
    pub(crate) delivery: &'static str,
    pub(crate) payment: &'static str,
    pub(crate) pay: &'static str,
    pub(crate) terms_before: &'static str,
    pub(crate) terms_link: &'static str,
    pub(crate) terms_after: &'static str,
    pub(crate) privacy_before: &'static str,
    pub(crate) privacy_link: &'static str,
    pub(crate) errors_title: &'static str,
    pub(crate) err_name_missing: &'static str,
    pub(crate) err_name_too_long: &'static str,
    pub(crate) err_email: &'static str,
    pub(crate) err_delivery: &'static str,
    pub(crate) err_payment: &'static str,
    pub(crate) order_summary: &'static str,

    pub(crate) psp_title: &'static str,
    pub(crate) psp_intro: &'static str,
    pub(crate) psp_amount: &'static str,
    pub(crate) psp_pay: &'static str,
    pub(crate) psp_cancel: &'static str,
    pub(crate) psp_fail: &'static str,

    pub(crate) order: &'static str,
    pub(crate) order_code: &'static str,
    pub(crate) order_confirmed: &'static str,
    pub(crate) order_confirmed_text: &'static str,
    pub(crate) order_not_paid: &'static str,
    pub(crate) order_expired: &'static str,
    pub(crate) how_tickets_arrive: &'static str,
    pub(crate) sent_to: &'static str,
    pub(crate) how_paid: &'static str,
    pub(crate) paid: &'static str,
    pub(crate) your_tickets: &'static str,
    pub(crate) print_hint: &'static str,
    pub(crate) ticket: &'static str,
    pub(crate) of: &'static str,
    pub(crate) ticket_code: &'static str,
    pub(crate) qr_label: &'static str,

    pub(crate) error_title: &'static str,
    pub(crate) error_detail: &'static str,
    pub(crate) error_way_back: &'static str,
    pub(crate) error_start_again: &'static str,
    pub(crate) err_bad_request: &'static str,
    pub(crate) err_bad_signature: &'static str,
    pub(crate) err_form_expired: &'static str,
    pub(crate) err_no_session: &'static str,
    pub(crate) err_too_many: &'static str,
    pub(crate) err_unavailable: &'static str,
    pub(crate) err_internal: &'static str,
    pub(crate) err_no_shop: &'static str,
    pub(crate) err_no_widget: &'static str,
    pub(crate) err_no_flow: &'static str,
    pub(crate) err_event_not_on_sale: &'static str,
    pub(crate) err_no_payment: &'static str,
    pub(crate) err_no_order: &'static str,
    pub(crate) err_no_return: &'static str,
    pub(crate) err_no_page: &'static str,

    pub(crate) home_title: &'static str,
    pub(crate) home_text: &'static str,

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

impl Texts {
    pub(crate) fn for_lang(lang: Option<&str>) -> &'static Texts {
        match lang {
            Some("nl") => &nl::NL,
            _ => &en::EN,
        }
    }

    /// The language a browser prefers among ours, from its `Accept-Language` header
    /// (`nl-BE,nl;q=0.9,en;q=0.8`): the tag with the highest weight that is `en` or
    /// `nl` (or a regional form of one), the first of equals; `None` when it names
    /// neither. For pages shown before a session says which language the shopper chose.
    pub(crate) fn accepted(header: Option<&str>) -> Option<&'static str> {
        let mut best: Option<(&'static str, f32)> = None;
        for entry in header?.split(',') {
            let mut parts = entry.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let primary = tag.split('-').next().unwrap_or("");
            let lang = if primary.eq_ignore_ascii_case("nl") {
                "nl"
            } else if primary.eq_ignore_ascii_case("en") {
                "en"
            } else {
                continue;
            };
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                .unwrap_or(0.0);
            if weight > 0.0 && best.is_none_or(|(_, w)| weight > w) {
                best = Some((lang, weight));
            }
        }
        best.map(|(lang, _)| lang)
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

    /// What a checkout field that failed its check says.
    pub(crate) fn field_error(&self, error: shop::FieldError) -> &'static str {
        use shop::FieldError;
        match error {
            FieldError::NameMissing => self.err_name_missing,
            FieldError::NameTooLong => self.err_name_too_long,
            FieldError::EmailInvalid => self.err_email,
            FieldError::DeliveryMissing => self.err_delivery,
            FieldError::PaymentMissing => self.err_payment,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_language_is_the_best_weighted_of_ours() {
        assert_eq!(Texts::accepted(Some("nl-BE,nl;q=0.9,en;q=0.8")), Some("nl"));
        assert_eq!(
            Texts::accepted(Some("fr-FR, en;q=0.5, nl;q=0.7")),
            Some("nl")
        );
        assert_eq!(Texts::accepted(Some("EN-gb")), Some("en"));
        assert_eq!(Texts::accepted(Some("nl;q=0, en;q=0.1")), Some("en"));
        assert_eq!(Texts::accepted(Some("de, fr")), None);
        assert_eq!(Texts::accepted(Some("en;q=oops, nl;q=0.2")), Some("nl"));
        assert_eq!(Texts::accepted(None), None);
    }

    #[test]
    fn both_languages_fill_every_text() {
        // English puts nothing before the number of seats left; every other text is there.
        for (t, empty) in [(&en::EN, 1), (&nl::NL, 0)] {
            let debug = format!("{t:?}");
            assert_eq!(debug.matches(": \"\"").count(), empty, "{}", t.lang);
            assert_ne!(t.lang, t.other_lang);
        }
        assert_eq!(Texts::for_lang(Some("nl")).lang, "nl");
        assert_eq!(Texts::for_lang(Some("fr")).lang, "en");
        assert_eq!(Texts::for_lang(None).lang, "en");
    }
}
