//! The accounts' event images, served from the shop store (the catalog import puts them
//! there), and the shop's own files: the favicon and the front page.
//!
//! An image is served only when its name is a plain image file name (no folders, a known
//! extension: see `shop::image_type`) and the account name is valid; its content type
//! follows from the extension alone. An image the store does not hold is looked for in
//! `<media dir>/<account>/`, where older versions kept them as files, as a regular file
//! of at most `shop::MAX_IMAGE_BYTES`. Anything else is a 404, so no request can read
//! outside an account's folder.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use protocol::AccountName;

use super::error::{Missing, PageError};
use super::i18n::Texts;
use super::views::{Frame, HomePage};
use crate::App;

const FAVICON: &str = include_str!("../../static/favicon.svg");

/// `GET /media/{account}/{file}`
pub(crate) async fn file(
    State(app): State<App>,
    Path((account, file)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let missing = PageError::NotFound(Missing::File);
    let (Ok(account), Some(content_type)) = (AccountName::parse(&account), shop::image_type(&file))
    else {
        return Err(missing);
    };
    let bytes = match app.shop.image(&account, &file).await? {
        Some(bytes) => bytes,
        None => {
            let Some(dir) = app.config.media_dir.as_ref() else {
                return Err(missing);
            };
            let path = dir.join(account.as_str()).join(&file);
            // The file itself, not a link to somewhere else.
            let meta = tokio::fs::symlink_metadata(&path)
                .await
                .map_err(|_| missing.clone())?;
            if !meta.is_file() || meta.len() > shop::MAX_IMAGE_BYTES as u64 {
                return Err(missing);
            }
            tokio::fs::read(&path).await.map_err(|_| missing)?
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /static/favicon.svg`, and `/favicon.ico` for browsers that ask for it anyway.
pub(crate) async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
}

/// `GET /`: a plain page that says what this server is, in the language the browser
/// prefers among English and Dutch (as the error pages choose it).
pub(crate) async fn home(headers: HeaderMap) -> Result<Response, PageError> {
    let accepted = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let t = Texts::for_lang(Texts::accepted(accepted));
    let page = HomePage {
        frame: Frame::new(t, t.home_title),
    };
    Ok(Html(page.render()?).into_response())
}
