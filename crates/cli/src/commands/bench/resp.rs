//! Just enough of the Redis protocol (RESP2) to send a command and skip over its reply,
//! counting the entries of the top-level array without copying or parsing them: the
//! Redis side of the comparison gets the leanest client there is, as `wrk` is for HTTP.

use anyhow::{anyhow, bail};
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _};

/// A command as RESP: an array of bulk strings.
pub(crate) fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads one whole reply. Returns the length of a top-level array, 1 for any other value;
/// a Redis error becomes an error.
pub(crate) async fn skip_reply<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> anyhow::Result<u64> {
    let top = read_value_header(reader, line).await?;
    let mut pending = match top {
        Header::Array(n) => n,
        Header::Bulk(len) => {
            skip_bytes(reader, len + 2).await?;
            return Ok(1);
        }
        Header::Simple => return Ok(1),
    };
    let count = pending;
    // Nested arrays only add their elements to what is still to be read.
    while pending > 0 {
        pending -= 1;
        match read_value_header(reader, line).await? {
            Header::Array(n) => pending += n,
            Header::Bulk(len) => skip_bytes(reader, len + 2).await?,
            Header::Simple => {}
        }
    }
    Ok(count)
}

enum Header {
    /// `*n` (a null array counts as empty).
    Array(u64),
    /// `$len`: that many bytes and CRLF follow (a null bulk string: none).
    Bulk(u64),
    /// `+`, `:`: the value was the line itself.
    Simple,
}

async fn read_value_header<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> anyhow::Result<Header> {
    line.clear();
    let n = reader.read_until(b'\n', line).await?;
    if n == 0 {
        bail!("Redis closed the connection");
    }
    let text = line
        .strip_suffix(b"\r\n")
        .ok_or_else(|| anyhow!("a RESP line without CRLF"))?;
    let (&kind, rest) = text
        .split_first()
        .ok_or_else(|| anyhow!("an empty RESP line"))?;
    let number = || -> anyhow::Result<i64> {
        std::str::from_utf8(rest)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("not a RESP length: {:?}", String::from_utf8_lossy(rest)))
    };
    match kind {
        b'*' => Ok(Header::Array(u64::try_from(number()?).unwrap_or(0))),
        b'$' => match number()? {
            -1 => Ok(Header::Simple),
            len => Ok(Header::Bulk(
                u64::try_from(len).map_err(|_| anyhow!("a negative length"))?,
            )),
        },
        b'+' | b':' => Ok(Header::Simple),
        b'-' => bail!("Redis: {}", String::from_utf8_lossy(rest)),
        other => bail!("an unknown RESP type {:?}", char::from(other)),
    }
}

async fn skip_bytes<R: AsyncBufRead + Unpin>(reader: &mut R, mut n: u64) -> anyhow::Result<()> {
    while n > 0 {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            bail!("Redis closed the connection inside a reply");
        }
        let take = available
            .len()
            .min(usize::try_from(n).unwrap_or(usize::MAX));
        reader.consume(take);
        n -= take as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        assert_eq!(
            command(&[b"XRANGE", b"k", b"-"]),
            b"*3\r\n$6\r\nXRANGE\r\n$1\r\nk\r\n$1\r\n-\r\n".to_vec()
        );
    }

    #[tokio::test]
    async fn a_range_reply_counts_its_entries_and_is_consumed_whole() {
        // Two entries of [id, [field, value, field, value]], then the next reply.
        let reply: &[u8] = b"*2\r\n\
            *2\r\n$3\r\n1-0\r\n*4\r\n$1\r\nt\r\n$4\r\nview\r\n$1\r\nj\r\n$5\r\na\r\nbc\r\n\
            *2\r\n$3\r\n1-1\r\n*4\r\n$1\r\nt\r\n$4\r\nview\r\n$1\r\nj\r\n$0\r\n\r\n\
            +OK\r\n";
        let mut reader = reply;
        let mut line = Vec::new();
        assert_eq!(skip_reply(&mut reader, &mut line).await.unwrap(), 2);
        // A bulk string holding CRLF was skipped by its length, not by lines.
        assert_eq!(skip_reply(&mut reader, &mut line).await.unwrap(), 1);
        assert!(reader.is_empty());
    }

    #[tokio::test]
    async fn errors_and_truncated_replies_are_errors() {
        let mut line = Vec::new();
        let mut error: &[u8] = b"-WRONGTYPE no stream\r\n";
        let e = skip_reply(&mut error, &mut line).await.unwrap_err();
        assert!(e.to_string().contains("WRONGTYPE"), "{e}");
        let mut cut: &[u8] = b"*2\r\n$3\r\n1-0\r\n";
        assert!(skip_reply(&mut cut, &mut line).await.is_err());
        let mut cut_bulk: &[u8] = b"$10\r\nabc";
        assert!(skip_reply(&mut cut_bulk, &mut line).await.is_err());
        let mut empty: &[u8] = b"*0\r\n";
        assert_eq!(skip_reply(&mut empty, &mut line).await.unwrap(), 0);
    }
}
