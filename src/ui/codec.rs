//! Sharing codecs: LZ4 block compression (the maintained `lz4_flex` crate), base64url, and the
//! versioned link format `#z=..&seed=..&e=..`. Pure and bounded: a hostile hash yields an `Err`
//! with a readable message, never a panic, and never expands past `MAX_EXPANDED`.
//!
//! Why LZ4 and not deflate: measured in a minimal wasm32 build (opt-level z, LTO), `lz4_flex`
//! (block format, safe Rust) adds about 6 KB gzipped and `miniz_oxide` (raw deflate, level 9)
//! about 18 KB. Deflate makes links roughly a third shorter, but every visitor pays the bundle
//! bytes, while only long scenarios come near the link limit (and those fall back to a file).
//!
//! Link versions: `z=` is base64url of (LEB128 uncompressed length ++ LZ4 block). The first
//! format, `s=` (a hand-written LZ77), is no longer read: such a link gets a clear message.

/// Largest text a link may expand to; more is refused as hostile (scenarios are a few KB).
pub const MAX_EXPANDED: usize = 512 * 1024;
/// Browsers accept far longer URLs, but chat tools and QR codes do not; past this we offer a file.
pub const MAX_LINK_CHARS: usize = 8_000;

/// LZ4 block with its uncompressed length in front (LEB128), so decoding can refuse a bomb
/// before allocating anything.
pub fn compress(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 2 + 8);
    let mut n = input.len() as u64;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(&lz4_flex::block::compress(input));
    out
}

/// Inverse of [`compress`]; refuses truncated or malformed input and output over `max_out`.
pub fn decompress(input: &[u8], max_out: usize) -> Result<Vec<u8>, String> {
    let mut len: u64 = 0;
    let mut i = 0;
    loop {
        let b = *input.get(i).ok_or("the link is truncated (length)")?;
        if i >= 5 {
            return Err("the link has a malformed length".into());
        }
        len |= ((b & 0x7f) as u64) << (7 * i);
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
    }
    if len > max_out as u64 {
        return Err("the link expands to more than a scenario may hold".into());
    }
    let out = lz4_flex::block::decompress(&input[i..], len as usize)
        .map_err(|_| "the link's scenario is damaged (it does not decompress)")?;
    if out.len() != len as usize {
        return Err("the link's scenario is damaged (wrong length)".into());
    }
    Ok(out)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding (safe in a URL fragment).
pub fn b64_encode(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() * 4 / 3 + 3);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        let chars = chunk.len() + 1;
        for k in 0..chars {
            s.push(B64[((v >> (18 - 6 * k)) & 63) as usize] as char);
        }
    }
    s
}

pub fn b64_decode(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for ch in s.bytes() {
        let v = match ch {
            b'A'..=b'Z' => ch - b'A',
            b'a'..=b'z' => ch - b'a' + 26,
            b'0'..=b'9' => ch - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => continue,
            _ => return Err("the link contains characters that are not base64url".into()),
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

/// What a shared link carries.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedState {
    pub text: String,
    pub seed: Option<u64>,
    pub event: u64,
}

/// `z=<compressed scenario>&seed=<n>&e=<event count>` (without the leading `#`).
pub fn encode_hash(state: &SharedState) -> String {
    let mut h = String::from("z=");
    h.push_str(&b64_encode(&compress(state.text.as_bytes())));
    if let Some(seed) = state.seed {
        h.push_str("&seed=");
        h.push_str(&seed.to_string());
    }
    h.push_str("&e=");
    h.push_str(&state.event.to_string());
    h
}

/// Parses a location hash (with or without `#`). `Ok(None)` when it carries no scenario.
pub fn decode_hash(hash: &str) -> Result<Option<SharedState>, String> {
    let hash = hash.strip_prefix('#').unwrap_or(hash);
    if hash.is_empty() {
        return Ok(None);
    }
    if hash.len() > 4 * MAX_EXPANDED {
        return Err("the link is far too long to be a scenario".into());
    }
    let mut text = None;
    let mut seed = None;
    let mut event = 0;
    for part in hash.split('&') {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        match key {
            "s" => {
                return Err(
                    "it was made by an older version of the playground; ask for a new link".into(),
                )
            }
            "z" => {
                let bytes = decompress(&b64_decode(value)?, MAX_EXPANDED)?;
                text = Some(
                    String::from_utf8(bytes)
                        .map_err(|_| "the link's scenario is not valid text")?,
                );
            }
            "seed" => {
                seed = Some(
                    value
                        .parse()
                        .map_err(|_| "the link's seed is not a whole number")?,
                )
            }
            "e" => {
                event = value
                    .parse()
                    .map_err(|_| "the link's event number is not a whole number")?
            }
            _ => {}
        }
    }
    match text {
        Some(text) => Ok(Some(SharedState { text, seed, event })),
        None if seed.is_some() => Err("the link has a seed but no scenario".into()),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny xorshift for test data (seeded; the seed is printed on failure).
    fn junk(seed: &mut u32, len: u32) -> Vec<u8> {
        (0..len)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 17;
                *seed ^= *seed << 5;
                *seed as u8
            })
            .collect()
    }

    #[test]
    fn compress_round_trips_presets_repetitive_and_random_text() {
        let yaml = "services:\n  - name: orders\n    producer: {rate: 5/s}\n  - name: billing\n"
            .repeat(20);
        let packed = compress(yaml.as_bytes());
        assert!(
            packed.len() * 3 < yaml.len(),
            "{} vs {}",
            packed.len(),
            yaml.len()
        );
        assert_eq!(decompress(&packed, MAX_EXPANDED).unwrap(), yaml.as_bytes());
        let welcome = crate::ui::presets::welcome();
        let packed = compress(welcome.as_bytes());
        assert!(
            packed.len() < welcome.len() * 3 / 4,
            "the welcome preset compresses"
        );
        assert_eq!(
            decompress(&packed, MAX_EXPANDED).unwrap(),
            welcome.as_bytes()
        );
        let mut seed = 7;
        let noise = junk(&mut seed, 5000);
        assert_eq!(decompress(&compress(&noise), MAX_EXPANDED).unwrap(), noise);
        assert_eq!(decompress(&compress(b""), 10).unwrap(), b"");
    }

    #[test]
    fn decompression_refuses_more_than_the_limit_before_allocating() {
        let big = "a".repeat(20_000);
        let packed = compress(big.as_bytes());
        assert!(packed.len() < 200, "a run compresses well");
        assert!(decompress(&packed, 10_000)
            .unwrap_err()
            .contains("more than"));
        // A declared length of 2^34 in a few bytes: refused, not allocated.
        assert!(decompress(&[0x80, 0x80, 0x80, 0x80, 0x40, 0x00], MAX_EXPANDED).is_err());
        // A length that lies about the data.
        let mut lie = compress(b"hello hello hello");
        lie[0] = 40;
        assert!(decompress(&lie, MAX_EXPANDED).is_err());
    }

    #[test]
    fn base64url_round_trips_every_length() {
        for len in 0..40u8 {
            let data: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(b64_decode(&b64_encode(&data)).unwrap(), data);
        }
    }

    #[test]
    fn hash_round_trips_text_seed_and_event() {
        let state = SharedState {
            text: "title: héllo\n".into(),
            seed: Some(42),
            event: 17,
        };
        let h = encode_hash(&state);
        assert_eq!(decode_hash(&format!("#{h}")).unwrap(), Some(state));
    }

    #[test]
    fn hostile_hashes_give_errors_not_panics() {
        assert!(decode_hash("#z=%%%").is_err());
        assert!(decode_hash("#z=gA").is_err()); // a length with nothing after it
        assert!(decode_hash("#z=AA&seed=x").is_err());
        assert!(decode_hash("#s=AAAA")
            .unwrap_err()
            .contains("older version"));
        assert_eq!(decode_hash("#").unwrap(), None);
        assert_eq!(decode_hash("#other=1").unwrap(), None);
        // Random junk and damaged real links never panic and never expand past the limit.
        let good = compress(crate::ui::presets::welcome().as_bytes());
        for run in 0..3000u32 {
            let mut seed = run.wrapping_mul(2_654_435_761) | 1;
            let start = seed;
            let mut bytes = if run % 2 == 0 {
                junk(&mut seed, run % 97)
            } else {
                // Flip a few bytes of a real link.
                let mut b = good.clone();
                for _ in 0..3 {
                    let r = junk(&mut seed, 2);
                    let at = (r[0] as usize * 256 + r[1] as usize) % b.len();
                    b[at] ^= r[0] | 1;
                }
                b
            };
            if run % 5 == 0 {
                bytes.truncate(bytes.len() / 2);
            }
            if let Ok(out) = decompress(&bytes, 4096) {
                assert!(out.len() <= 4096, "seed {start}: output over the limit");
            }
            let _ = decode_hash(&format!("z={}", b64_encode(&bytes)));
        }
    }
}
