//! Sharing codecs: a small LZ77 compressor, base64url, and the `#s=..&seed=..&e=..` link format.
//! Pure and bounded: a hostile hash yields an `Err` with a readable message, never a panic.

/// Largest text a link may expand to; more is refused as hostile (scenarios are a few KB).
pub const MAX_EXPANDED: usize = 512 * 1024;
/// Browsers accept far longer URLs, but chat tools and QR codes do not; past this we offer a file.
pub const MAX_LINK_CHARS: usize = 8_000;

const WINDOW: usize = 32 * 1024;
const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 130;
const HASH_BITS: u32 = 12;
const MAX_CHAIN: usize = 24;

fn hash3(b: &[u8]) -> usize {
    let v = (b[0] as u32) | ((b[1] as u32) << 8) | ((b[2] as u32) << 16);
    (v.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize
}

/// Compresses `input` into tokens: `0x00..=0x7f` = a run of (c+1) literal bytes follows;
/// `0x80..=0xff` = a match of length (c&0x7f)+3 whose distance follows as a LEB128 varint.
pub fn compress(input: &[u8]) -> Vec<u8> {
    let n = input.len();
    let mut out = Vec::with_capacity(n / 2 + 16);
    let mut head = vec![u32::MAX; 1 << HASH_BITS];
    let mut prev = vec![u32::MAX; n];
    let mut literals: Vec<u8> = Vec::new();
    let flush = |out: &mut Vec<u8>, literals: &mut Vec<u8>| {
        for chunk in literals.chunks(128) {
            out.push((chunk.len() - 1) as u8);
            out.extend_from_slice(chunk);
        }
        literals.clear();
    };
    let mut i = 0;
    while i < n {
        let mut best_len = 0;
        let mut best_dist = 0;
        if i + MIN_MATCH <= n {
            let h = hash3(&input[i..]);
            let mut cand = head[h];
            let mut tries = 0;
            while cand != u32::MAX && tries < MAX_CHAIN {
                let c = cand as usize;
                if i - c > WINDOW {
                    break;
                }
                let limit = MAX_MATCH.min(n - i);
                let mut l = 0;
                while l < limit && input[c + l] == input[i + l] {
                    l += 1;
                }
                if l > best_len {
                    best_len = l;
                    best_dist = i - c;
                }
                cand = prev[c];
                tries += 1;
            }
        }
        let step = if best_len >= MIN_MATCH {
            flush(&mut out, &mut literals);
            out.push(0x80 | (best_len - MIN_MATCH) as u8);
            let mut d = best_dist;
            loop {
                let byte = (d & 0x7f) as u8;
                d >>= 7;
                if d == 0 {
                    out.push(byte);
                    break;
                }
                out.push(byte | 0x80);
            }
            best_len
        } else {
            literals.push(input[i]);
            1
        };
        for j in i..i + step {
            if j + MIN_MATCH <= n {
                let h = hash3(&input[j..]);
                prev[j] = head[h];
                head[h] = j as u32;
            }
        }
        i += step;
    }
    flush(&mut out, &mut literals);
    out
}

/// Inverse of [`compress`]; refuses truncated input, bad distances and output over `max_out`.
pub fn decompress(input: &[u8], max_out: usize) -> Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::with_capacity(input.len() * 3);
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        i += 1;
        if c < 0x80 {
            let len = c as usize + 1;
            let lit = input
                .get(i..i + len)
                .ok_or("the link is truncated (literal run)")?;
            out.extend_from_slice(lit);
            i += len;
        } else {
            let len = (c & 0x7f) as usize + MIN_MATCH;
            let mut dist: usize = 0;
            let mut shift = 0;
            loop {
                let b = *input.get(i).ok_or("the link is truncated (distance)")?;
                i += 1;
                if shift > 21 {
                    return Err("the link has a malformed distance".into());
                }
                dist |= ((b & 0x7f) as usize) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    break;
                }
            }
            if dist == 0 || dist > out.len() {
                return Err("the link refers to data before its start".into());
            }
            let start = out.len() - dist;
            for k in 0..len {
                let b = out[start + k];
                out.push(b);
            }
        }
        if out.len() > max_out {
            return Err("the link expands to more than a scenario may hold".into());
        }
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

/// `s=<compressed scenario>&seed=<n>&e=<event count>` (without the leading `#`).
pub fn encode_hash(state: &SharedState) -> String {
    let mut h = String::from("s=");
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

    #[test]
    fn compress_round_trips_repetitive_and_random_text() {
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
        let mut x: u32 = 7;
        let noise: Vec<u8> = (0..5000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x % 7) as u8 + b'a'
            })
            .collect();
        assert_eq!(decompress(&compress(&noise), MAX_EXPANDED).unwrap(), noise);
        assert_eq!(decompress(&compress(b""), 10).unwrap(), b"");
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
        assert!(decode_hash("#s=%%%").is_err());
        assert!(decode_hash("#s=gA").is_err()); // match token with no distance
        assert!(decode_hash("#s=_w8").is_err()); // distance before start
        assert!(decode_hash("#s=AA&seed=x").is_err());
        assert_eq!(decode_hash("#").unwrap(), None);
        assert_eq!(decode_hash("#other=1").unwrap(), None);
        // A bomb: a tiny input that would expand far past the limit.
        let mut bomb = vec![0u8, b'a'];
        for _ in 0..10_000 {
            bomb.extend_from_slice(&[0xff, 1]);
        }
        assert!(decompress(&bomb, MAX_EXPANDED).is_err());
        // Random junk never panics.
        let mut x: u32 = 99;
        for _ in 0..2000 {
            let junk: Vec<u8> = (0..(x % 64))
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            let _ = decompress(&junk, 4096);
            let _ = decode_hash(&format!("s={}", b64_encode(&junk)));
        }
    }
}
