//! Input mutation without coverage feedback: the classic byte-level mutators of AFL and
//! libFuzzer, plus tokens from a per-target dictionary.

/// xorshift64*: fast, seeded, reproducible.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced: xorshift never leaves it).
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn bits(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.bits() % n.max(1) as u64) as usize
    }
}

/// Integers that sit on the edges parsers get wrong, as text and as bytes.
const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    7,
    8,
    16,
    127,
    128,
    255,
    256,
    1023,
    1024,
    4096,
    65535,
    65536,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
];

/// Tokens every text target gets besides its own.
const TEXT_TOKENS: &[&str] = &[
    "-1",
    "0",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "-inf",
    "1e-320",
    "4294967296",
    "2147483649",
    "18446744073709551616",
    "9223372036854775807",
    "\"",
    "[",
    "]",
    "{",
    "}",
    ",",
    "=",
    ":",
    "\n",
    "\\u0000",
    "null",
    "true",
    "[[",
];

/// One to eight stacked mutations of `input`, possibly splicing `other`.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8], dict: &[&str], max_len: usize) -> Vec<u8> {
    let mut v = input.to_vec();
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        let len = v.len();
        match rng.below(11) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = [0u8, 0xff, 0x7f, 0x80, b'0', b'9', b'-'][rng.below(7)];
            }
            2 if len > 0 => {
                // Delete a range.
                let a = rng.below(len);
                let b = (a + 1 + rng.below(16.min(len - a))).min(len);
                v.drain(a..b);
            }
            3 => {
                // Insert random bytes.
                let at = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.bits() as u8).collect();
                v.splice(at..at, bytes);
            }
            4 if len > 0 => {
                // Duplicate a range.
                let a = rng.below(len);
                let b = (a + 1 + rng.below(64.min(len - a))).min(len);
                let chunk = v[a..b].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, chunk);
            }
            5 | 6 => {
                // A dictionary token, replacing a few bytes or inserted.
                let all = dict.len() + TEXT_TOKENS.len();
                let k = rng.below(all);
                let tok = if k < dict.len() {
                    dict[k]
                } else {
                    TEXT_TOKENS[k - dict.len()]
                };
                let at = rng.below(len + 1);
                let end = if rng.below(2) == 0 {
                    at
                } else {
                    (at + rng.below(8)).min(len)
                };
                v.splice(at..end, tok.bytes());
            }
            7 => {
                // An interesting number, as text.
                let n = INTERESTING[rng.below(INTERESTING.len())];
                let text = if rng.below(4) == 0 {
                    format!("-{n}")
                } else {
                    n.to_string()
                };
                let at = rng.below(len + 1);
                let end = (at + rng.below(6)).min(len);
                v.splice(at..end, text.bytes());
            }
            8 if len >= 4 => {
                // An interesting number, as 4 or 8 bytes in either order (binary headers).
                let n = INTERESTING[rng.below(INTERESTING.len())];
                let bytes: Vec<u8> = match rng.below(4) {
                    0 => (n as u32).to_be_bytes().to_vec(),
                    1 => (n as u32).to_le_bytes().to_vec(),
                    2 => n.to_be_bytes().to_vec(),
                    _ => n.to_le_bytes().to_vec(),
                };
                let at = rng.below(len.saturating_sub(bytes.len()) + 1);
                let end = (at + bytes.len()).min(len);
                v.splice(at..end, bytes);
            }
            9 if !other.is_empty() => {
                // Splice: a prefix of this input, a suffix of another.
                let a = rng.below(len + 1);
                let b = rng.below(other.len());
                v.truncate(a);
                v.extend_from_slice(&other[b..]);
            }
            10 if len > 0 => {
                // Truncate.
                v.truncate(rng.below(len));
            }
            _ => {}
        }
        v.truncate(max_len);
    }
    v
}

/// A coarse signature of an outcome: the message with digits and quoted text blanked, so
/// "line 3" and "line 7" count once but a new kind of error counts anew.
pub fn signature(outcome: &Result<(), String>) -> u64 {
    let text = match outcome {
        Ok(()) => return 1,
        Err(m) => m,
    };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut quoted = false;
    for c in text.chars() {
        if c == '`' {
            quoted = !quoted;
            continue;
        }
        if quoted || c.is_ascii_digit() {
            continue;
        }
        h ^= c as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}
