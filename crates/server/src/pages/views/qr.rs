//! QR codes of printed tickets, drawn on the server as one SVG path (no image files, no
//! script): a rectangle per run of dark modules in a row, inside a quiet zone.

use std::fmt::Write;

use qrcodegen::QrCodeEcc;

/// The quiet zone around a code, in modules, as the standard asks.
const QUIET: i32 = 4;

#[derive(Debug)]
pub(crate) struct QrCode {
    /// Width and height in modules, quiet zone included.
    pub(crate) size: i32,
    /// The dark modules as an SVG path.
    pub(crate) path: String,
}

impl QrCode {
    /// `None` only for text too long for any QR code (ticket codes are short).
    pub(crate) fn new(text: &str) -> Option<QrCode> {
        let code = qrcodegen::QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
        let n = code.size();
        let mut path = String::new();
        for y in 0..n {
            let mut x = 0;
            while x < n {
                if !code.get_module(x, y) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < n && code.get_module(x, y) {
                    x += 1;
                }
                // Writing to a String cannot fail.
                let _ = write!(
                    path,
                    "M{} {}h{}v1h-{}z",
                    start + QUIET,
                    y + QUIET,
                    x - start,
                    x - start
                );
            }
        }
        Some(QrCode {
            size: n + 2 * QUIET,
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_the_modules_of_the_code() {
        let qr = QrCode::new("TS-ABCDEFGHJKMN").unwrap();
        let modules = qrcodegen::QrCode::encode_text("TS-ABCDEFGHJKMN", QrCodeEcc::Medium)
            .unwrap()
            .size();
        assert_eq!(qr.size, modules + 8);
        // The finder pattern's top row: seven dark modules from the quiet zone's edge.
        assert!(qr.path.starts_with("M4 4h7v1h-7z"), "{}", &qr.path[..40]);
        assert!(
            qr.path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " -".contains(c))
        );
        assert_ne!(QrCode::new("TS-2").unwrap().path, qr.path);
    }
}
