//! Event images: files named in the catalog, stored with it by the import (in the shop
//! store, so every process that shares the store serves them). A name is a plain file
//! name with a known image extension, so it can never point outside the account's
//! folder where an older data directory keeps them as files, and its extension alone
//! decides the content type it is served with.

/// No event image is anywhere near this large.
pub const MAX_IMAGE_BYTES: usize = 8 * 1024 * 1024;

/// An image file the catalog names, with its bytes, for [`crate::ShopStore::import_catalog_with_images`].
#[derive(Clone, PartialEq, Eq)]
pub struct EventImage {
    /// The file name, as the catalog's `image` gives it.
    pub name: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for EventImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventImage")
            .field("name", &self.name)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// The extensions an image may have.
pub const IMAGE_EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "webp", "svg"];

/// The content type of an image file name, or `None` when the name is not a plain image
/// file name: 1 to 100 ASCII letters, digits, `-`, `_` and `.`, not starting with a dot,
/// ending in one of [`IMAGE_EXTENSIONS`] (lowercase).
pub fn image_type(file: &str) -> Option<&'static str> {
    let plain = !file.is_empty()
        && file.len() <= 100
        && !file.starts_with('.')
        && !file.contains("..")
        && file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if !plain {
        return None;
    }
    match file.rsplit_once('.')?.1 {
        "png" => Some("image/png"),
        "jpg" | "jpeg" => Some("image/jpeg"),
        "webp" => Some("image/webp"),
        "svg" => Some("image/svg+xml"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_image_names_have_a_type() {
        assert_eq!(image_type("poster.jpg"), Some("image/jpeg"));
        assert_eq!(image_type("a-b_c.2.png"), Some("image/png"));
        assert_eq!(image_type("x.svg"), Some("image/svg+xml"));
        for bad in [
            "",
            "../x.png",
            "a/b.png",
            "a\\b.png",
            ".png",
            "x.PNG",
            "x.html",
            "x",
            "x..png",
            "%2e%2e.png",
            "x.png\0",
            "é.png",
        ] {
            assert_eq!(image_type(bad), None, "{bad:?}");
        }
        assert_eq!(image_type(&format!("{}.png", "a".repeat(97))), None);
    }
}
