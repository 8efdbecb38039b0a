//! Who clicked: device / OS / browser families and crawler detection from the
//! User-Agent, the referring host, and a daily-rotating visitor hash for
//! unique counts.
//!
//! Everything here is pure (no `worker` imports) and total: no input makes it
//! panic. [`classify`] runs on the redirect path, so it does no allocation, no
//! copy and no regex: the User-Agent is split into alphanumeric words, each
//! word is lowercased while being packed into one integer, and that integer is
//! looked up in hash tables built at compile time.
//!
//! # Decisions
//!
//! * **Missing or blank User-Agent** → a bot named [`MISSING_UA_BOT`]
//!   (`"unknown-client"`). Every browser and in-app web view sends one; a
//!   request without it is a script, a health check or a proxy probe.
//! * **Bots** get `os: "other"` and `browser: "other"`: the platform a
//!   crawler claims is a costume, and echoing it would inflate the shopper
//!   figures of anyone who groups by browser without filtering on device.
//! * **`okhttp`**: only a User-Agent that is *exactly* `okhttp/<version>` is a
//!   bot (`"okhttp"`): that is the library default, sent by code fetching the
//!   link for itself (unfurlers, link checkers). Apps built on OkHttp normally
//!   prefix their own product token (`MyShop/5.2 (Android 14) okhttp/4.12.0`)
//!   and their requests are classified by the rest of the string, never as bots.
//! * **iPadOS**: Safari on iPadOS 13+ asks for desktop sites by default and then
//!   sends a User-Agent identical to macOS Safari. Nothing in the string tells
//!   them apart, so those iPads count as `macos` / [`Device::Desktop`]. Only
//!   UAs that say `iPad` are tablets. The same holds for Android phones in
//!   "desktop site" mode (they send an `X11; Linux` UA).
//! * **Android without `Mobile`** is a tablet when the UA is a browser's (starts
//!   with `Mozilla/`), as Chrome and WebView report; a non-browser Android
//!   app UA (`Dalvik/…`, `MyApp/1.0 (Android 14)`) never says, and counts as
//!   a phone, by far the likelier device.
//! * **In-app browsers are shoppers.** Instagram, Facebook/Messenger, TikTok,
//!   Snapchat, LinkedIn, Pinterest, Line, Telegram… open links in a web view
//!   whose UA starts with `Mozilla/5.0 (iPhone|Linux; Android …)` and then
//!   names the app. Their link-*preview* fetchers either carry a crawler token
//!   (`facebookexternalhit`, `Pinterestbot`, `line-poker`) or send a bare app
//!   token with no `Mozilla/` prefix (`WhatsApp/2.23.20.0 A`, `Viber/…`,
//!   `Snap URL Preview Service; bot; snapchat; …`, `http.rb/… (Mastodon/…)`).
//!   So an app name is a bot only in a UA that does not start with `Mozilla`.
//! * **Generic crawler words**: any word ending in `bot`/`bots` or containing
//!   `crawler`/`spider` marks a bot ([`GENERIC_BOT`]), except the phone brand
//!   `Cubot` (`CUBOT_X19`, `CUBOT NOTE 20 PRO`). Words are split on every
//!   non-alphanumeric byte, so `CUBOT_X19` yields the word `cubot`.
//! * Only the first [`UA_SCAN_LIMIT`] bytes are examined (cut back to a word
//!   boundary): real UAs are well under 600 bytes, and the bound keeps the cost
//!   of a hostile 32 KiB header constant.
//! * A verified bot (`cf.botManagement.verifiedBot == true`) is always a bot,
//!   named from the UA when a crawler token is found, else [`VERIFIED_BOT`].
//!   `Some(false)` does not clear a UA that names a crawler: an unverified
//!   "Googlebot" is an impostor, still not a shopper.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Coarse device class of a click.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    Mobile,
    Tablet,
    Desktop,
    Bot,
    Other,
}

impl Device {
    /// The same lowercase name serde uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Mobile => "mobile",
            Device::Tablet => "tablet",
            Device::Desktop => "desktop",
            Device::Bot => "bot",
            Device::Other => "other",
        }
    }
}

/// What [`classify`] learned about a client.
///
/// `os` is one of `ios`, `android`, `windows`, `macos`, `linux`, `chromeos`,
/// `other`; `browser` one of `chrome`, `safari`, `firefox`, `edge`, `samsung`,
/// `opera`, `instagram`, `facebook`, `tiktok`, `snapchat`, `other`. `bot` is
/// `Some(name)` exactly when `device` is [`Device::Bot`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    pub device: Device,
    pub os: &'static str,
    pub browser: &'static str,
    pub bot: Option<&'static str>,
}

/// Bot name for a request without a (non-blank) User-Agent.
pub const MISSING_UA_BOT: &str = "unknown-client";
/// Bot name when Cloudflare verified the bot but the UA names no known crawler.
pub const VERIFIED_BOT: &str = "verified-bot";
/// Bot name for a UA with a crawler-ish word (`…bot`, `crawler`, `spider`) only.
pub const GENERIC_BOT: &str = "generic-bot";
/// How many leading bytes of a User-Agent [`classify`] looks at.
pub const UA_SCAN_LIMIT: usize = 1024;

/// Classify a request from its User-Agent (may be empty/absent) and
/// Cloudflare's `cf.botManagement.verifiedBot` flag if known.
///
/// See the module documentation for the rules and their edge cases.
pub fn classify(user_agent: Option<&str>, verified_bot: Option<bool>) -> ClientInfo {
    let verified = verified_bot == Some(true);
    let mut ua = user_agent.unwrap_or("").trim().as_bytes();
    if ua.is_empty() {
        return bot_info(if verified {
            VERIFIED_BOT
        } else {
            MISSING_UA_BOT
        });
    }
    if let (Some(head), Some(next)) = (ua.get(..UA_SCAN_LIMIT), ua.get(UA_SCAN_LIMIT)) {
        ua = head;
        if next.is_ascii_alphanumeric() {
            // Drop the word the limit cut in half ("…robotics" must not become "robot").
            let end = head.iter().rposition(|b| !b.is_ascii_alphanumeric());
            ua = head.get(..end.unwrap_or(0)).unwrap_or_default();
        }
    }

    let signals = Signals::scan(ua);
    match signals.bot_name(ua) {
        Some(name) => bot_info(name),
        None if verified => bot_info(VERIFIED_BOT),
        None => ClientInfo {
            device: signals.device(),
            os: signals.os(),
            browser: signals.browser(),
            bot: None,
        },
    }
}

fn bot_info(name: &'static str) -> ClientInfo {
    ClientInfo {
        device: Device::Bot,
        os: "other",
        browser: "other",
        bot: Some(name),
    }
}

// Platform and browser signals, one bit each.
const IPHONE: u32 = 1 << 0;
const IPAD: u32 = 1 << 1;
const ANDROID: u32 = 1 << 2;
const MOBILE: u32 = 1 << 3;
const TABLET: u32 = 1 << 4;
const KINDLE: u32 = 1 << 5;
const WINDOWS: u32 = 1 << 6;
const WINDOWS_PHONE: u32 = 1 << 7;
const MAC: u32 = 1 << 8;
const LINUX: u32 = 1 << 9;
const X11: u32 = 1 << 10;
const CROS: u32 = 1 << 11;
/// TV, console, VR headset, set-top box.
const NON_PC: u32 = 1 << 12;
const INSTAGRAM: u32 = 1 << 13;
const FACEBOOK: u32 = 1 << 14;
const TIKTOK: u32 = 1 << 15;
const SNAPCHAT: u32 = 1 << 16;
const EDGE: u32 = 1 << 17;
const OPERA: u32 = 1 << 18;
const SAMSUNG: u32 = 1 << 19;
/// A browser outside our families that would otherwise pass for Chrome.
const OTHER_BROWSER: u32 = 1 << 20;
const CHROME: u32 = 1 << 21;
const FIREFOX: u32 = 1 << 22;
const SAFARI: u32 = 1 << 23;

/// What a recognised word (or pair of words) means.
#[derive(Clone, Copy)]
enum Action {
    /// A crawler / preview fetcher's own token; the first one seen names the bot.
    Named(&'static str),
    /// Names the bot even over an earlier token
    /// (LINE's `facebookexternalhit/1.1;line-poker/1.0`).
    Override(&'static str),
    /// An HTTP library or command-line tool; the last one seen wins
    /// (`Python/3.11 aiohttp/3.9.1`).
    Tool(&'static str),
    /// An app: its in-app browser in a `Mozilla/` UA, its preview fetcher otherwise.
    App(&'static str, u32),
    Flags(u32),
}

use Action::{App, Flags, Named, Override, Tool};

/// Single words of a UA (compared case-insensitively). No word starts with a
/// digit: those are skipped before any lookup.
const WORDS: &[(&[u8], Action)] = &[
    // Crawlers and link-preview fetchers, by their own token.
    // ("facebookexternalhit" is longer than a key: see `Signals::scan`.)
    (b"facebot", Named("facebot")),
    (b"externalagent", Named("meta-externalagent")),
    (b"externalfetcher", Named("meta-externalfetcher")),
    (b"slackbot", Named("slackbot")),
    (b"twitterbot", Named("twitterbot")),
    (b"discordbot", Named("discordbot")),
    (b"linkedinbot", Named("linkedinbot")),
    (b"telegrambot", Named("telegrambot")),
    (b"googlebot", Named("googlebot")),
    (b"inspectiontool", Named("google-inspectiontool")),
    (b"adsbot", Named("adsbot-google")),
    (b"mediapartners", Named("mediapartners-google")),
    (b"googleother", Named("googleother")),
    (b"feedfetcher", Named("feedfetcher-google")),
    (b"googleimageproxy", Named("googleimageproxy")),
    (b"bingbot", Named("bingbot")),
    (b"bingpreview", Named("bingpreview")),
    (b"duckduckbot", Named("duckduckbot")),
    (b"yandexbot", Named("yandexbot")),
    (b"baiduspider", Named("baiduspider")),
    (b"applebot", Named("applebot")),
    (b"pinterestbot", Named("pinterestbot")),
    (b"redditbot", Named("redditbot")),
    (b"embedly", Named("embedly")),
    (b"iframely", Named("iframely")),
    (b"skypeuripreview", Named("skypeuripreview")),
    (b"microsoftpreview", Named("microsoftpreview")),
    (b"bytespider", Named("bytespider")),
    (b"gptbot", Named("gptbot")),
    (b"claudebot", Named("claudebot")),
    (b"perplexitybot", Named("perplexitybot")),
    (b"ccbot", Named("ccbot")),
    (b"amazonbot", Named("amazonbot")),
    (b"ahrefsbot", Named("ahrefsbot")),
    (b"semrushbot", Named("semrushbot")),
    (b"mj12bot", Named("mj12bot")),
    (b"petalbot", Named("petalbot")),
    (b"seznambot", Named("seznambot")),
    (b"qwantify", Named("qwantify")),
    (b"headlesschrome", Named("headlesschrome")),
    (b"phantomjs", Named("phantomjs")),
    // HTTP libraries that are never part of a browser's UA.
    (b"aiohttp", Tool("aiohttp")),
    (b"axios", Tool("axios")),
    (b"undici", Tool("undici")),
    (b"postmanruntime", Tool("postman")),
    (b"insomnia", Tool("insomnia")),
    (b"httpie", Tool("httpie")),
    (b"scrapy", Tool("scrapy")),
    (b"guzzlehttp", Tool("guzzlehttp")),
    // Apps: in a Mozilla UA an in-app browser, otherwise a preview fetcher.
    (b"whatsapp", App("whatsapp", 0)),
    (b"viber", App("viber", 0)),
    (b"mastodon", App("mastodon", 0)),
    (b"pinterest", App("pinterestbot", 0)),
    (b"snapchat", App("snapchat", SNAPCHAT)),
    // Platform.
    (b"iphone", Flags(IPHONE)),
    (b"ipod", Flags(IPHONE)),
    (b"ipad", Flags(IPAD)),
    (b"android", Flags(ANDROID)),
    (b"mobile", Flags(MOBILE)),
    (b"tablet", Flags(TABLET)),
    (b"kindle", Flags(KINDLE)),
    (b"windows", Flags(WINDOWS)),
    (b"iemobile", Flags(WINDOWS_PHONE)),
    (b"macintosh", Flags(MAC)),
    (b"linux", Flags(LINUX)),
    (b"ubuntu", Flags(LINUX)),
    (b"fedora", Flags(LINUX)),
    (b"x11", Flags(X11)),
    (b"cros", Flags(CROS)),
    (b"tv", Flags(NON_PC)),
    (b"smarttv", Flags(NON_PC)),
    (b"googletv", Flags(NON_PC)),
    (b"appletv", Flags(NON_PC)),
    (b"hbbtv", Flags(NON_PC)),
    (b"netcast", Flags(NON_PC)),
    (b"crkey", Flags(NON_PC)),
    (b"bravia", Flags(NON_PC)),
    (b"roku", Flags(NON_PC)),
    (b"webos", Flags(NON_PC)),
    (b"web0s", Flags(NON_PC)),
    (b"playstation", Flags(NON_PC)),
    (b"xbox", Flags(NON_PC)),
    (b"nintendo", Flags(NON_PC)),
    (b"oculusbrowser", Flags(NON_PC)),
    // Browsers and in-app web views.
    (b"instagram", Flags(INSTAGRAM)),
    (b"fban", Flags(FACEBOOK)),
    (b"fbav", Flags(FACEBOOK)),
    (b"fbios", Flags(FACEBOOK)),
    (b"fb4a", Flags(FACEBOOK)),
    (b"bytedancewebview", Flags(TIKTOK)),
    (b"trill", Flags(TIKTOK)),
    (b"aweme", Flags(TIKTOK)),
    (b"tiktok", Flags(TIKTOK)),
    (b"edg", Flags(EDGE)),
    (b"edga", Flags(EDGE)),
    (b"edgios", Flags(EDGE)),
    (b"edge", Flags(EDGE)),
    (b"opr", Flags(OPERA)),
    (b"opt", Flags(OPERA)),
    (b"opios", Flags(OPERA)),
    (b"opera", Flags(OPERA)),
    (b"samsungbrowser", Flags(SAMSUNG)),
    // Amazon Fire tablets.
    (b"silk", Flags(KINDLE | OTHER_BROWSER)),
    (b"yabrowser", Flags(OTHER_BROWSER)),
    (b"ucbrowser", Flags(OTHER_BROWSER)),
    (b"miuibrowser", Flags(OTHER_BROWSER)),
    (b"huaweibrowser", Flags(OTHER_BROWSER)),
    (b"crios", Flags(CHROME)),
    (b"chrome", Flags(CHROME)),
    (b"chromium", Flags(CHROME)),
    (b"fxios", Flags(FIREFOX)),
    (b"firefox", Flags(FIREFOX)),
    (b"safari", Flags(SAFARI)),
];

/// Consecutive word pairs, from names written with `-`, `_` or a space.
const PAIRS: &[(&[u8], &[u8], Action)] = &[
    (b"windows", b"phone", Flags(WINDOWS_PHONE)),
    (b"fb", b"iab", Flags(FACEBOOK)),
    (b"musical", b"ly", Flags(TIKTOK)),
    (b"slack", b"imgproxy", Named("slackbot")),
    (b"apis", b"google", Named("apis-google")),
    (b"chatgpt", b"user", Named("chatgpt-user")),
    (b"oai", b"searchbot", Named("oai-searchbot")),
    (b"claude", b"user", Named("claude-user")),
    (b"perplexity", b"user", Named("perplexity-user")),
    (b"ia", b"archiver", Named("ia_archiver")),
    (b"kakaotalk", b"scrap", Named("kakaotalk-scrap")),
    (b"line", b"poker", Override("line")),
    (b"python", b"requests", Tool("python-requests")),
    (b"python", b"urllib", Tool("python-urllib")),
    (b"python", b"httpx", Tool("python-httpx")),
    (b"go", b"http", Tool("go-http-client")),
    (b"apache", b"httpclient", Tool("apache-httpclient")),
    (b"node", b"fetch", Tool("node-fetch")),
];

/// Longest word a table key can hold.
const KEY_LEN: usize = 16;

/// A word of at most [`KEY_LEN`] bytes, ASCII-lowercased, packed big-endian
/// and zero-padded into one integer. Words are never copied or lowercased into
/// a buffer: looking one up costs a pack, a multiply and an integer compare.
const fn pack(word: &[u8]) -> u128 {
    // Two u64 halves built with shifts: byte stores into an array followed by
    // one wide load stall on store forwarding, and u128 shifts are libcalls.
    let (mut hi, mut lo) = (0u64, 0u64);
    let mut i = 0;
    while i < word.len() && i < KEY_LEN {
        let byte = word[i].to_ascii_lowercase() as u64;
        if i < 8 {
            hi |= byte << (56 - 8 * i);
        } else {
            lo |= byte << (120 - 8 * i);
        }
        i += 1;
    }
    ((hi as u128) << 64) | lo as u128
}

/// An open-addressing hash table slot: (previous word or 0, word, action).
/// A zero word marks an empty slot (no packed non-empty word is zero).
type Slot = (u128, u128, Action);

const fn slot_of(first: u128, second: u128, len: usize) -> usize {
    let mixed = first.rotate_left(67) ^ second;
    let folded = (mixed as u64) ^ ((mixed >> 64) as u64);
    // Fibonacci hashing: the top bits of the product index the table.
    (folded.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - len.trailing_zeros())) as usize
}

/// Builds a table at compile time; a too-long or duplicate word fails the build.
const fn build<const N: usize>(
    words: &[(&[u8], Action)],
    pairs: &[(&[u8], &[u8], Action)],
) -> [Slot; N] {
    assert!(N.is_power_of_two() && 2 * (words.len() + pairs.len()) <= N);
    let mut table: [Slot; N] = [(0, 0, Flags(0)); N];
    let mut i = 0;
    while i < words.len() + pairs.len() {
        let (first, second, action) = if i < words.len() {
            (0, words[i].0, words[i].1)
        } else {
            let (first, second, action) = pairs[i - words.len()];
            assert!(
                !first.is_empty() && first.len() <= KEY_LEN,
                "bad table word"
            );
            (pack(first), second, action)
        };
        assert!(
            !second.is_empty() && second.len() <= KEY_LEN,
            "bad table word"
        );
        assert!(
            !second[0].is_ascii_digit(),
            "table words must not start with a digit"
        );
        let second = pack(second);
        let mut at = slot_of(first, second, N);
        while table[at].1 != 0 {
            assert!(
                table[at].0 != first || table[at].1 != second,
                "duplicate table word"
            );
            at = (at + 1) % N;
        }
        table[at] = (first, second, action);
        i += 1;
    }
    table
}

static WORD_TABLE: [Slot; 256] = build(WORDS, &[]);
static PAIR_TABLE: [Slot; 64] = build(&[], PAIRS);

fn lookup<const N: usize>(table: &[Slot; N], first: u128, second: u128) -> Option<Action> {
    let mut at = slot_of(first, second, N);
    // The tables are at most half full, so an empty slot always ends the probe.
    for _ in 0..N {
        let &(a, b, action) = table.get(at)?;
        if b == 0 {
            return None;
        }
        if a == first && b == second {
            return Some(action);
        }
        at = (at + 1) % N;
    }
    None
}

/// Everything one pass over the UA's words noticed.
#[derive(Default)]
struct Signals {
    /// The UA's first word is `mozilla`: a browser or a browser-shaped fetcher.
    mozilla: bool,
    named: Option<&'static str>,
    app: Option<&'static str>,
    tool: Option<&'static str>,
    /// A word like `…bot`, `crawler`, `spider`.
    generic: bool,
    flags: u32,
}

impl Signals {
    /// One pass over the bytes: split into alphanumeric words, packing each
    /// word's key (as [`pack`] does) while finding its end.
    fn scan(ua: &[u8]) -> Signals {
        let mut s = Signals::default();
        let mut prev: Option<u128> = None;
        let mut first = true;
        let mut i = 0;
        while let Some(&byte) = ua.get(i) {
            if !byte.is_ascii_alphanumeric() {
                i += 1;
                continue;
            }
            let start = i;
            let (mut hi, mut lo) = (0u64, 0u64);
            while let Some(&byte) = ua.get(i).filter(|b| b.is_ascii_alphanumeric()) {
                // `| 0x20` lowercases ASCII letters and leaves digits as they are.
                let byte = u64::from(byte | 0x20);
                match i - start {
                    n @ 0..=7 => hi |= byte << (56 - 8 * n),
                    n @ 8..=15 => lo |= byte << (120 - 8 * n),
                    _ => {}
                }
                i += 1;
            }
            let w = ua.get(start..i).unwrap_or_default();
            let key = (w.len() <= KEY_LEN).then_some((u128::from(hi) << 64) | u128::from(lo));
            if first {
                s.first_word(key);
                first = false;
            }
            s.word(w, key, prev);
            prev = key;
        }
        s
    }

    fn word(&mut self, w: &[u8], key: Option<u128>, prev: Option<u128>) {
        match key {
            // Version numbers: no table word starts with a digit, and only those
            // ending in a letter can be a glued "36snapchat" or a "360spider".
            Some(_) if w.first().is_some_and(u8::is_ascii_digit) => {
                if w.last().is_some_and(u8::is_ascii_alphabetic) {
                    self.other_word(w);
                }
            }
            Some(key) => {
                if let Some(action) = prev.and_then(|p| lookup(&PAIR_TABLE, p, key)) {
                    self.apply(action);
                }
                match lookup(&WORD_TABLE, 0, key) {
                    Some(action) => self.apply(action),
                    None => self.other_word(w),
                }
            }
            None if w.eq_ignore_ascii_case(b"facebookexternalhit") => {
                self.apply(Named("facebookexternalhit"))
            }
            None => self.other_word(w),
        }
    }

    fn apply(&mut self, action: Action) {
        match action {
            Named(name) => {
                if self.named.is_none() {
                    self.named = Some(name);
                }
            }
            Override(name) => self.named = Some(name),
            Tool(name) => self.tool = Some(name),
            App(name, flags) => {
                self.flags |= flags;
                if self.app.is_none() {
                    self.app = Some(name);
                }
            }
            Flags(flags) => self.flags |= flags,
        }
    }

    fn has(&self, flags: u32) -> bool {
        self.flags & flags != 0
    }

    /// Product tokens that only mean something at the very start of the UA.
    fn first_word(&mut self, key: Option<u128>) {
        const MOZILLA: u128 = pack(b"mozilla");
        const CURL: u128 = pack(b"curl");
        const WGET: u128 = pack(b"wget");
        const JAVA: u128 = pack(b"java");
        const PYTHON: u128 = pack(b"python");
        const LIBWWW: u128 = pack(b"libwww");
        const LINE: u128 = pack(b"line");
        let action = match key {
            Some(MOZILLA) => {
                self.mozilla = true;
                return;
            }
            Some(CURL) => Tool("curl"),
            Some(WGET) => Tool("wget"),
            Some(JAVA) => Tool("java"),
            Some(PYTHON) => Tool("python"),
            Some(LIBWWW) => Tool("libwww-perl"),
            // "Line" is an English word; only the leading product token counts.
            Some(LINE) => App("line", 0),
            _ => return,
        };
        self.apply(action);
    }

    fn other_word(&mut self, w: &[u8]) {
        match w.last().map(u8::to_ascii_lowercase) {
            // Snapchat's Android web view glues its token on: "Safari/537.36Snapchat/12.50".
            Some(b't') if ends_with_ci(w, b"snapchat") => self.flags |= SNAPCHAT,
            Some(b't' | b's')
                if (ends_with_ci(w, b"bot") || ends_with_ci(w, b"bots"))
                    && !w.eq_ignore_ascii_case(b"cubot") =>
            {
                self.generic = true
            }
            _ if w.len() >= 6 && (contains_ci(w, b"crawler") || contains_ci(w, b"spider")) => {
                self.generic = true
            }
            // Fire TV model codes: AFTMM, AFTKA, AFTSSS…
            _ if w.len() <= 6 && starts_with_ci(w, b"aft") && !w.eq_ignore_ascii_case(b"after") => {
                self.flags |= NON_PC
            }
            _ => {}
        }
    }

    fn bot_name(&self, ua: &[u8]) -> Option<&'static str> {
        if self.named.is_some() {
            return self.named;
        }
        if !self.mozilla && self.app.is_some() {
            return self.app;
        }
        if is_bare_okhttp(ua) {
            return Some("okhttp");
        }
        if self.tool.is_some() {
            return self.tool;
        }
        if self.generic {
            return Some(GENERIC_BOT);
        }
        None
    }

    fn os(&self) -> &'static str {
        if self.has(WINDOWS_PHONE) {
            // Before iOS and Android: Windows Phone UAs claim both.
            "windows"
        } else if self.has(IPHONE | IPAD) {
            "ios"
        } else if self.has(ANDROID | KINDLE) {
            "android"
        } else if self.has(CROS) {
            "chromeos"
        } else if self.has(WINDOWS) {
            "windows"
        } else if self.has(MAC) {
            "macos"
        } else if self.has(LINUX) {
            "linux"
        } else {
            "other"
        }
    }

    fn device(&self) -> Device {
        if self.has(NON_PC) {
            Device::Other
        } else if self.has(IPAD | TABLET | KINDLE) {
            Device::Tablet
        } else if self.has(WINDOWS_PHONE | IPHONE) {
            Device::Mobile
        } else if self.has(ANDROID) {
            if self.has(MOBILE) || !self.mozilla {
                Device::Mobile
            } else {
                Device::Tablet
            }
        } else if self.has(MOBILE) {
            Device::Mobile
        } else if self.has(WINDOWS | MAC | LINUX | X11 | CROS) {
            Device::Desktop
        } else {
            Device::Other
        }
    }

    fn browser(&self) -> &'static str {
        // In-app web views first (they also carry Chrome/Safari tokens), then
        // Chromium derivatives before Chrome, then Chrome before Safari.
        const ORDER: [(u32, &str); 10] = [
            (INSTAGRAM, "instagram"),
            (FACEBOOK, "facebook"),
            (TIKTOK, "tiktok"),
            (SNAPCHAT, "snapchat"),
            (EDGE, "edge"),
            (OPERA, "opera"),
            (SAMSUNG, "samsung"),
            (OTHER_BROWSER, "other"),
            (CHROME, "chrome"),
            (FIREFOX, "firefox"),
        ];
        for (flag, name) in ORDER {
            if self.has(flag) {
                return name;
            }
        }
        if self.has(SAFARI) && self.has(IPHONE | IPAD | MAC) {
            // Elsewhere "Safari/" is another WebKit browser: the old AOSP
            // browser, TV and console browsers, Epiphany…
            "safari"
        } else {
            "other"
        }
    }
}

fn starts_with_ci(word: &[u8], prefix: &[u8]) -> bool {
    word.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

fn ends_with_ci(word: &[u8], suffix: &[u8]) -> bool {
    word.len()
        .checked_sub(suffix.len())
        .and_then(|at| word.get(at..))
        .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
}

fn contains_ci(word: &[u8], needle: &[u8]) -> bool {
    let Some(&lead) = needle.first() else {
        return false;
    };
    word.windows(needle.len()).any(|w| {
        // Cheap first-byte test before the full comparison.
        w.first().is_some_and(|b| b.eq_ignore_ascii_case(&lead)) && w.eq_ignore_ascii_case(needle)
    })
}

/// The whole UA is `okhttp/<version>`, e.g. `okhttp/4.12.0`.
fn is_bare_okhttp(ua: &[u8]) -> bool {
    const PREFIX: &[u8] = b"okhttp/";
    if !starts_with_ci(ua, PREFIX) {
        return false;
    }
    let version = ua.get(PREFIX.len()..).unwrap_or_default();
    version.first().is_some_and(u8::is_ascii_digit)
        && version
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'-')
}

/// Host of a Referer header value, lowercased and otherwise as given
/// (`l.instagram.com` stays `l.instagram.com`; no `www.` stripping, no port).
///
/// `None` for an absent, blank, unparseable or non-http(s) referrer.
/// Android apps send `android-app://<package>/…`; those give the package name
/// (`android-app://com.google.android.gm/` → `com.google.android.gm`).
/// Internationalised hosts come back in their ASCII (punycode) form.
pub fn referrer_host(referer: Option<&str>) -> Option<String> {
    const ANDROID_APP: &str = "android-app://";
    let referer = referer?.trim();
    if referer.is_empty() {
        return None;
    }
    let scheme = referer.get(..ANDROID_APP.len());
    if scheme.is_some_and(|s| s.eq_ignore_ascii_case(ANDROID_APP)) {
        let rest = referer.get(ANDROID_APP.len()..).unwrap_or("");
        let package = rest.split(['/', '?', '#']).next().unwrap_or("");
        let valid = package
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphabetic)
            && package
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
        return valid.then(|| package.to_ascii_lowercase());
    }
    if let Some(host) = plain_web_host(referer) {
        return Some(host.to_ascii_lowercase());
    }
    parsed_web_host(referer)
}

/// The host of a referrer as the URL standard reads it (`url::Url`), for http(s) only.
fn parsed_web_host(referer: &str) -> Option<String> {
    let url = url::Url::parse(referer).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    match url.host_str() {
        Some(host) if !host.is_empty() => Some(host.to_ascii_lowercase()),
        _ => None,
    }
}

/// The common case without a URL parser: `http(s)://host[:port]` followed by the end or by
/// `/`, `?` or `#`, where the host is a plain DNS name (ASCII letters, digits and hyphens in
/// non-empty dot-separated labels, no `xn--` label, a last label that starts with a letter,
/// so never an IPv4 address) and the port is a number the URL standard accepts. For such
/// input `url::Url` gives the same host, lowercased (a unit test compares the two over
/// generated input); anything else (userinfo, IP literals, escapes, non-ASCII, tabs,
/// backslashes) answers `None` and is left to it.
fn plain_web_host(referer: &str) -> Option<&str> {
    let bytes = referer.as_bytes();
    let skip = if starts_with_ci(bytes, b"https://") {
        8
    } else if starts_with_ci(bytes, b"http://") {
        7
    } else {
        return None;
    };
    let rest = referer.get(skip..)?;
    let authority_end = rest
        .bytes()
        .position(|c| matches!(c, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = rest.get(..authority_end)?;
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let port_ok = port.is_none_or(|p| {
        p.is_empty()
            || (p.len() <= 5
                && p.bytes().all(|c| c.is_ascii_digit())
                && p.parse::<u32>().is_ok_and(|n| n <= 65_535))
    });
    let labels_ok = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && !starts_with_ci(label.as_bytes(), b"xn--")
                && label
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-')
        });
    let not_ipv4 = host
        .rsplit('.')
        .next()
        .and_then(|last| last.bytes().next())
        .is_some_and(|c| c.is_ascii_alphabetic());
    (port_ok && labels_ok && not_ipv4).then_some(host)
}

/// Privacy-preserving visitor id for unique counts: SipHash-2-4 over (day number, ip,
/// user-agent), keyed with 128 bits derived from `secret`, as 16 hex chars (its 64 bits).
///
/// Rotates daily because the day is in the input; stores no IP, and without the secret
/// nobody can test which IP a hash came from (SipHash is a keyed pseudorandom function, made
/// for short inputs like these). `day` = unix_seconds / 86400. The inputs are hashed as
/// given (no normalisation), length-prefixed so that no two (ip, user-agent) pairs share an
/// encoding. 64 bits keep accidental collisions among one link's visitors of one day
/// negligible (below one in 2^32 even at 65,536 visitors a day).
pub fn visitor_hash(secret: &[u8], day: u64, ip: &str, user_agent: &str) -> String {
    VisitorHasher::new(secret).hash(day, ip, user_agent)
}

/// `visitor_hash` with its key derived once (HMAC-SHA256 of the secret, when the hasher is
/// made); each hash is then one SipHash pass over about 200 bytes: a few times cheaper than
/// the HMAC-SHA256 this replaced, on the path that runs once per click.
#[derive(Clone)]
pub struct VisitorHasher {
    k0: u64,
    k1: u64,
}

impl VisitorHasher {
    pub fn new(secret: &[u8]) -> Self {
        // HMAC accepts keys of any length, so the fallback is unreachable; it
        // exists only so that this function has no panic path at all.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
            .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new(&Default::default()));
        mac.update(b"in2carts/visitor/siphash-2-4 key");
        let key = mac.finalize().into_bytes();
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(key.get(i..i + 8).unwrap_or(&[0; 8]));
            u64::from_le_bytes(w)
        };
        VisitorHasher {
            k0: word(0),
            k1: word(8),
        }
    }

    pub fn hash(&self, day: u64, ip: &str, user_agent: &str) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut sip = SipHash24::new(self.k0, self.k1);
        sip.write(b"in2carts/visitor/v2\0");
        sip.write(&day.to_be_bytes());
        sip.write(&(ip.len() as u64).to_be_bytes());
        sip.write(ip.as_bytes());
        sip.write(user_agent.as_bytes());
        let tag = sip.finish().to_be_bytes();
        let mut out = String::with_capacity(16);
        for byte in tag {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        out
    }
}

/// SipHash-2-4 with a 64-bit result (Aumasson and Bernstein, "SipHash: a fast short-input
/// PRF", 2012), fed incrementally: a hash of several `write`s equals the hash of their
/// concatenation. The unit tests hold it to the standard library's implementation.
struct SipHash24 {
    v: [u64; 4],
    /// Bytes not yet compressed (fewer than 8), little-endian in the low bits.
    tail: u64,
    tail_len: u32,
    total: u64,
}

impl SipHash24 {
    fn new(k0: u64, k1: u64) -> Self {
        SipHash24 {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
            tail: 0,
            tail_len: 0,
            total: 0,
        }
    }

    fn round(&mut self) {
        let [v0, v1, v2, v3] = &mut self.v;
        *v0 = v0.wrapping_add(*v1);
        *v1 = v1.rotate_left(13) ^ *v0;
        *v0 = v0.rotate_left(32);
        *v2 = v2.wrapping_add(*v3);
        *v3 = v3.rotate_left(16) ^ *v2;
        *v0 = v0.wrapping_add(*v3);
        *v3 = v3.rotate_left(21) ^ *v0;
        *v2 = v2.wrapping_add(*v1);
        *v1 = v1.rotate_left(17) ^ *v2;
        *v2 = v2.rotate_left(32);
    }

    fn compress(&mut self, m: u64) {
        self.v[3] ^= m;
        self.round();
        self.round();
        self.v[0] ^= m;
    }

    fn write(&mut self, mut bytes: &[u8]) {
        self.total = self.total.wrapping_add(bytes.len() as u64);
        // Top up a partial word first.
        while self.tail_len > 0 {
            let Some((&b, rest)) = bytes.split_first() else {
                return;
            };
            self.tail |= u64::from(b) << (8 * self.tail_len);
            self.tail_len += 1;
            bytes = rest;
            if self.tail_len == 8 {
                let m = self.tail;
                self.compress(m);
                self.tail = 0;
                self.tail_len = 0;
            }
        }
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            self.compress(u64::from_le_bytes(w));
        }
        for (i, &b) in words.remainder().iter().enumerate() {
            self.tail |= u64::from(b) << (8 * i);
        }
        self.tail_len = words.remainder().len() as u32;
    }

    fn finish(mut self) -> u64 {
        let last = ((self.total & 0xff) << 56) | self.tail;
        self.compress(last);
        self.v[2] ^= 0xff;
        for _ in 0..4 {
            self.round();
        }
        self.v[0] ^ self.v[1] ^ self.v[2] ^ self.v[3]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ua: &str, device: Device, os: &str, browser: &str, bot: Option<&str>) {
        let got = classify(Some(ua), None);
        let want = (device, os, browser, bot);
        assert_eq!((got.device, got.os, got.browser, got.bot), want, "UA: {ua}");
        // Matching ignores ASCII case everywhere.
        assert_eq!(
            classify(Some(&ua.to_ascii_uppercase()), None),
            got,
            "UA: {ua}"
        );
        assert_eq!(
            classify(Some(&ua.to_ascii_lowercase()), None),
            got,
            "UA: {ua}"
        );
    }

    /// A human on a browser or in-app web view.
    macro_rules! human {
        ($($name:ident: $ua:expr => $device:ident, $os:expr, $browser:expr;)*) => {$(
            #[test]
            fn $name() {
                check($ua, Device::$device, $os, $browser, None);
            }
        )*};
    }

    /// A crawler, preview fetcher or script, with the name it must get.
    macro_rules! bot {
        ($($name:ident: $ua:expr => $bot:expr;)*) => {$(
            #[test]
            fn $name() {
                check($ua, Device::Bot, "other", "other", Some($bot));
            }
        )*};
    }

    human! {
        iphone_safari: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1"
            => Mobile, "ios", "safari";
        iphone_chrome: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1"
            => Mobile, "ios", "chrome";
        iphone_firefox: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/120.0 Mobile/15E148 Safari/605.1.15"
            => Mobile, "ios", "firefox";
        iphone_edge: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/120.0.2210.126 Mobile/15E148 Safari/605.1.15"
            => Mobile, "ios", "edge";
        iphone_google_app: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/291.0.582458380 Mobile/15E148 Safari/604.1"
            => Mobile, "ios", "safari";
        iphone_instagram: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.0.3.18.110 (iPhone15,2; iOS 17_1_2; en_US; en; scale=3.00; 1179x2556; 541635890)"
            => Mobile, "ios", "instagram";
        android_instagram: "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UD1A.231105.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 Instagram 309.1.0.41.113 Android (34/14; 420dpi; 1080x2205; Google/google; Pixel 8; shiba; shiba; en_US; 541635863)"
            => Mobile, "android", "instagram";
        iphone_facebook: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/442.0.0.35.111;FBBV/548263011;FBDV/iPhone15,3;FBMD/iPhone;FBSN/iOS;FBSV/17.1.2;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/550080735]"
            => Mobile, "ios", "facebook";
        android_facebook: "Mozilla/5.0 (Linux; Android 13; SM-G991B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/443.0.0.23.229;]"
            => Mobile, "android", "facebook";
        iphone_messenger: "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/MessengerForiOS;FBAV/434.0.0.31.112;FBBV/528136467;FBDV/iPhone13,2;FBMD/iPhone;FBSN/iOS;FBSV/16.6;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]"
            => Mobile, "ios", "facebook";
        iphone_tiktok: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 musical_ly_32.5.0 JsSdk/2.0 NetType/WIFI Channel/App Store ByteLocale/en Region/US RevealType/Dialog isDarkMode/0 WKWebView/1 BytedanceWebview/d8a21c6"
            => Mobile, "ios", "tiktok";
        android_tiktok: "Mozilla/5.0 (Linux; Android 12; SM-A125F Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.193 Mobile Safari/537.36 trill_320104 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/trill app_version/32.1.4 ByteLocale/en ByteFullLocale/en Region/PH AppId/1180 Spark/1.4.8.3-bugfix AppVersion/32.1.4 BytedanceWebview/d8a21c6"
            => Mobile, "android", "tiktok";
        iphone_snapchat: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Snapchat/12.62.0.35 (like Safari/8617.1.17.10.9, panda)"
            => Mobile, "ios", "snapchat";
        android_snapchat_glued: "Mozilla/5.0 (Linux; Android 13; SM-S908U Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.5845.163 Mobile Safari/537.36Snapchat/12.50.0.36 (SM-S908U; Android 13#S908USQS2BWG2#33; gzip; )"
            => Mobile, "android", "snapchat";
        iphone_linkedin_app: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.29.5986"
            => Mobile, "ios", "other";
        iphone_pinterest_app: "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [Pinterest/iOS]"
            => Mobile, "ios", "other";
        android_pinterest_app: "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/117.0.5938.60 Mobile Safari/537.36 [Pinterest/Android]"
            => Mobile, "android", "chrome";
        iphone_line_app: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/13.17.0"
            => Mobile, "ios", "safari";
        android_line_app: "Mozilla/5.0 (Linux; Android 13; SO-51C Build/64.1.F.0.260; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/117.0.5938.60 Mobile Safari/537.36 Line/13.16.1/IAB"
            => Mobile, "android", "chrome";
        android_telegram_app: "Mozilla/5.0 (Linux; Android 13; SM-A515F Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 Telegram-Android/10.2.9 (Samsung SM-A515F; Android 13; SDK 33; AVERAGE)"
            => Mobile, "android", "chrome";
        android_mentions_whatsapp: "Mozilla/5.0 (Linux; Android 13; moto g(60) Build/T1RDS33.116-33-3; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/118.0.5993.111 Mobile Safari/537.36 WhatsApp/2.23.20.0"
            => Mobile, "android", "chrome";
        android_chrome_phone: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
            => Mobile, "android", "chrome";
        android_samsung_internet: "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36"
            => Mobile, "android", "samsung";
        android_firefox_phone: "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0"
            => Mobile, "android", "firefox";
        android_edge: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 EdgA/120.0.2210.115"
            => Mobile, "android", "edge";
        android_opera: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 OPR/79.1.4195.76546"
            => Mobile, "android", "opera";
        cubot_phone_underscore: "Mozilla/5.0 (Linux; Android 9; CUBOT_X19 Build/PPR1.180610.011) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/100.0.4896.127 Mobile Safari/537.36"
            => Mobile, "android", "chrome";
        cubot_phone_spaced: "Mozilla/5.0 (Linux; Android 11; CUBOT NOTE 20 PRO) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
            => Mobile, "android", "chrome";
        windows_phone_edge: "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063"
            => Mobile, "windows", "edge";
        android_tablet_chrome: "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Safari/537.36"
            => Tablet, "android", "chrome";
        android_tablet_firefox: "Mozilla/5.0 (Android 13; Tablet; rv:121.0) Gecko/121.0 Firefox/121.0"
            => Tablet, "android", "firefox";
        ipad_safari: "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
            => Tablet, "ios", "safari";
        kindle_silk: "Mozilla/5.0 (Linux; Android 9; KFMAWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/120.3.1 like Chrome/120.0.6099.115 Safari/537.36"
            => Tablet, "android", "other";
        windows_chrome: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
            => Desktop, "windows", "chrome";
        windows_edge: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0"
            => Desktop, "windows", "edge";
        windows_opera: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0"
            => Desktop, "windows", "opera";
        windows_firefox: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
            => Desktop, "windows", "firefox";
        windows_ie11: "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko"
            => Desktop, "windows", "other";
        mac_safari: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"
            => Desktop, "macos", "safari";
        mac_chrome: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
            => Desktop, "macos", "chrome";
        mac_firefox: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0"
            => Desktop, "macos", "firefox";
        linux_firefox: "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
            => Desktop, "linux", "firefox";
        linux_chrome: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
            => Desktop, "linux", "chrome";
        chromeos_chrome: "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
            => Desktop, "chromeos", "chrome";
        android_tv: "Mozilla/5.0 (Linux; Android 11; SHIELD Android TV Build/RQ1A.210105.003; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36"
            => Other, "android", "chrome";
        samsung_smart_tv: "Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV Safari/537.36"
            => Other, "linux", "other";
        playstation_5: "Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15"
            => Other, "other", "other";
        xbox_one: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19041"
            => Other, "windows", "edge";
        fire_tv: "Mozilla/5.0 (Linux; Android 9; AFTKA Build/PS7633.3445N; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/108.0.5359.220 Mobile Safari/537.36"
            => Other, "android", "chrome";
        // Indistinguishable from a Mac by design of iPadOS (documented above).
        ipados_desktop_mode: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"
            => Desktop, "macos", "safari";
        android_app_on_okhttp: "MyShop/5.2.1 (Android 14; Pixel 8) okhttp/4.12.0"
            => Mobile, "android", "other";
        unknown_token: "Mozilla/5.0"
            => Other, "other", "other";
    }

    bot! {
        facebookexternalhit: "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)" => "facebookexternalhit";
        facebot: "Facebot" => "facebot";
        imessage_preview: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0" => "facebookexternalhit";
        meta_externalagent: "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)" => "meta-externalagent";
        slackbot: "Slackbot 1.0 (+https://api.slack.com/robots)" => "slackbot";
        slackbot_link_expanding: "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)" => "slackbot";
        slack_imgproxy: "Slack-ImgProxy (+https://api.slack.com/robots)" => "slackbot";
        twitterbot: "Twitterbot/1.0" => "twitterbot";
        whatsapp_android: "WhatsApp/2.23.20.0 A" => "whatsapp";
        whatsapp_ios: "WhatsApp/2.23.18.78 i" => "whatsapp";
        discordbot: "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)" => "discordbot";
        linkedinbot: "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)" => "linkedinbot";
        telegrambot: "TelegramBot (like TwitterBot)" => "telegrambot";
        googlebot_smartphone: "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)" => "googlebot";
        googlebot_desktop: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)" => "googlebot";
        google_inspection_tool: "Mozilla/5.0 (compatible; Google-InspectionTool/1.0;)" => "google-inspectiontool";
        adsbot_google: "AdsBot-Google (+http://www.google.com/adsbot.html)" => "adsbot-google";
        adsbot_google_mobile: "Mozilla/5.0 (iPhone; CPU iPhone OS 14_7_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.1.2 Mobile/15E148 Safari/604.1 (compatible; AdsBot-Google-Mobile; +http://www.google.com/mobile/adsbot.html)" => "adsbot-google";
        mediapartners_google: "Mediapartners-Google" => "mediapartners-google";
        googleother: "Mozilla/5.0 (compatible; GoogleOther)" => "googleother";
        apis_google: "APIs-Google (+https://developers.google.com/webmasters/APIs-Google.html)" => "apis-google";
        feedfetcher_google: "FeedFetcher-Google; (+http://www.google.com/feedfetcher.html)" => "feedfetcher-google";
        bingbot: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36" => "bingbot";
        bingpreview: "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/534+ (KHTML, like Gecko) BingPreview/1.0b" => "bingpreview";
        duckduckbot: "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)" => "duckduckbot";
        yandexbot: "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)" => "yandexbot";
        baiduspider: "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)" => "baiduspider";
        applebot: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)" => "applebot";
        pinterestbot: "Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)" => "pinterestbot";
        pinterest_fetcher: "Pinterest/0.2 (+http://www.pinterest.com/bot.html)" => "pinterestbot";
        redditbot: "Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)" => "redditbot";
        embedly: "Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)" => "embedly";
        iframely: "Iframely/1.3.1 (+https://iframely.com/docs/about)" => "iframely";
        skype_uri_preview: "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com" => "skypeuripreview";
        teams_microsoft_preview: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.103 Safari/537.36 MicrosoftPreview/2.0 +https://aka.ms/MicrosoftPreview" => "microsoftpreview";
        snapchat_preview: "Snap URL Preview Service; bot; snapchat; https://developers.snap.com/robots" => "snapchat";
        viber_preview: "Viber/20.6.0.2" => "viber";
        line_preview: "facebookexternalhit/1.1;line-poker/1.0" => "line";
        mastodon_fetcher: "http.rb/5.1.1 (Mastodon/4.2.1; +https://mastodon.social/)" => "mastodon";
        bytespider: "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)" => "bytespider";
        gptbot: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)" => "gptbot";
        chatgpt_user: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot" => "chatgpt-user";
        oai_searchbot: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; OAI-SearchBot/1.0; +https://openai.com/searchbot" => "oai-searchbot";
        claudebot: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)" => "claudebot";
        perplexitybot: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)" => "perplexitybot";
        ccbot: "CCBot/2.0 (https://commoncrawl.org/faq/)" => "ccbot";
        amazonbot: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Amazonbot/0.1; +https://developer.amazon.com/support/amazonbot) Chrome/119.0.6045.214 Safari/537.36" => "amazonbot";
        ahrefsbot: "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)" => "ahrefsbot";
        semrushbot: "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)" => "semrushbot";
        mj12bot: "Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)" => "mj12bot";
        petalbot: "Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)" => "petalbot";
        seznambot: "Mozilla/5.0 (compatible; SeznamBot/4.0; +https://o-seznam.cz/napoveda/vyhledavani/en/seznambot-crawler/)" => "seznambot";
        qwantify: "Mozilla/5.0 (compatible; Qwantify/2.4w; +https://www.qwant.com/)/2.4w" => "qwantify";
        ia_archiver: "ia_archiver (+http://www.alexa.com/site/help/webmasters; crawler@alexa.com)" => "ia_archiver";
        curl: "curl/8.5.0" => "curl";
        wget: "Wget/1.21.4" => "wget";
        python_requests: "python-requests/2.31.0" => "python-requests";
        python_urllib: "Python-urllib/3.11" => "python-urllib";
        aiohttp: "Python/3.11 aiohttp/3.9.1" => "aiohttp";
        go_http_client: "Go-http-client/2.0" => "go-http-client";
        okhttp_bare: "okhttp/4.12.0" => "okhttp";
        java: "Java/17.0.9" => "java";
        libwww_perl: "libwww-perl/6.72" => "libwww-perl";
        headless_chrome: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.71 Safari/537.36" => "headlesschrome";
        phantomjs: "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1" => "phantomjs";
        generic_bot_word: "Mozilla/5.0 (compatible; DotBot/1.2; +https://opensiteexplorer.org/dotbot; help@moz.com)" => GENERIC_BOT;
        generic_spider_word: "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)" => GENERIC_BOT;
        generic_crawler_word: "Mozilla/5.0 (compatible; Linespider/1.1; +https://lin.ee/4dwXkTH)" => GENERIC_BOT;
        generic_crawler_in_word: "Mozilla/5.0 (compatible; ev-crawler/1.0; +https://headline.com/legal/crawler)" => GENERIC_BOT;
    }

    #[test]
    fn every_table_word_is_found_case_insensitively() {
        for (word, _) in WORDS {
            assert!(lookup(&WORD_TABLE, 0, pack(word)).is_some(), "{word:?}");
            let upper = word.to_ascii_uppercase();
            assert!(lookup(&WORD_TABLE, 0, pack(&upper)).is_some(), "{word:?}");
            assert!(lookup(&PAIR_TABLE, pack(b"x"), pack(word)).is_none());
        }
        for (first, second, _) in PAIRS {
            assert!(lookup(&PAIR_TABLE, pack(first), pack(second)).is_some());
        }
        assert!(lookup(&WORD_TABLE, 0, pack(b"gecko")).is_none());
        assert!(lookup(&PAIR_TABLE, pack(b"chatgpt"), pack(b"google")).is_none());
        assert_eq!(pack(b"Android"), pack(b"android"));
    }

    #[test]
    fn missing_or_blank_user_agent_is_an_unknown_client() {
        for ua in [None, Some(""), Some("   "), Some("\t")] {
            assert_eq!(classify(ua, None), bot_info(MISSING_UA_BOT), "{ua:?}");
            assert_eq!(classify(ua, Some(false)).bot, Some(MISSING_UA_BOT));
        }
        assert_eq!(classify(None, Some(true)).bot, Some(VERIFIED_BOT));
    }

    #[test]
    fn verified_bot_flag_forces_a_bot() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
        assert_eq!(classify(Some(chrome), Some(true)), bot_info(VERIFIED_BOT));
        assert_eq!(classify(Some(chrome), Some(false)).device, Device::Desktop);
        assert_eq!(classify(Some(chrome), None).bot, None);
        let googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
        assert_eq!(classify(Some(googlebot), Some(true)).bot, Some("googlebot"));
        // An unverified Googlebot is an impostor, but still not a shopper.
        assert_eq!(
            classify(Some(googlebot), Some(false)).bot,
            Some("googlebot")
        );
    }

    #[test]
    fn okhttp_is_a_bot_only_as_the_whole_user_agent() {
        assert_eq!(classify(Some("okhttp/3.14.9"), None).bot, Some("okhttp"));
        assert_eq!(
            classify(Some("okhttp/5.0.0-alpha.11"), None).bot,
            Some("okhttp")
        );
        assert_eq!(classify(Some("OkHttp/4.9.0"), None).bot, Some("okhttp"));
        assert_eq!(classify(Some("okhttp"), None).bot, None);
        assert_eq!(classify(Some("okhttp/4.12.0 MyShop/5.2"), None).bot, None);
        assert_eq!(classify(Some("MyShop/5.2.1 okhttp/4.12.0"), None).bot, None);
    }

    #[test]
    fn device_names_serialize_like_as_str() {
        for d in [
            Device::Mobile,
            Device::Tablet,
            Device::Desktop,
            Device::Bot,
            Device::Other,
        ] {
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(json, format!("\"{}\"", d.as_str()));
        }
    }

    #[test]
    fn only_the_scan_limit_is_examined_and_cut_words_are_dropped() {
        let base = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1 ";
        let mut ua = String::from(base);
        while ua.len() < UA_SCAN_LIMIT - 6 {
            ua.push('x');
        }
        ua.push_str(" robotics");
        // The limit falls inside "robotics": its prefix "robot" must not count.
        assert!(ua.len() > UA_SCAN_LIMIT);
        let info = classify(Some(&ua), None);
        assert_eq!(
            (info.device, info.browser, info.bot),
            (Device::Mobile, "safari", None)
        );

        // A crawler token past the limit is not seen (documented trade-off).
        let mut far = String::from(base);
        far.push_str(&" pad".repeat(400));
        far.push_str(" Googlebot/2.1");
        assert_eq!(classify(Some(&far), None).bot, None);
    }

    #[test]
    fn never_panics_and_bot_iff_device_bot() {
        // Deterministic pseudo-random strings built from UA fragments, multi-byte
        // characters and punctuation, including very long ones.
        let pieces = [
            "Mozilla/5.0 ",
            "(iPhone; ",
            "Android 14; ",
            "Mobile ",
            "bot",
            "cubot",
            "é",
            "日本",
            "\u{0}",
            "/",
            ";",
            " ",
            "_",
            "-",
            "okhttp/",
            "4.1",
            "Instagram ",
            "FBAN/",
            "Safari/",
            "Chrome/",
            "crawler",
            "whatsapp",
            "Line",
            "poker",
            "x",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for round in 0..3000 {
            let mut ua = String::new();
            let len = if round % 100 == 0 { 2000 } else { round % 40 };
            for _ in 0..len {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ua.push_str(pieces[(state >> 33) as usize % pieces.len()]);
            }
            for verified in [None, Some(true), Some(false)] {
                let info = classify(Some(&ua), verified);
                assert_eq!(info.bot.is_some(), info.device == Device::Bot, "{ua:?}");
                if verified == Some(true) {
                    assert_eq!(info.device, Device::Bot);
                }
            }
            let _ = referrer_host(Some(&ua));
            let _ = referrer_host(Some(&format!("https://{ua}")));
            let _ = referrer_host(Some(&format!("android-app://{ua}")));
            assert_eq!(
                visitor_hash(ua.as_bytes(), round as u64, &ua, &ua).len(),
                16
            );
        }
    }

    #[test]
    fn referrer_host_keeps_the_host_lowercased() {
        let cases = [
            (
                "https://l.instagram.com/?u=https%3A%2F%2Fin2.cart%2Fx",
                Some("l.instagram.com"),
            ),
            ("https://www.Google.com/", Some("www.google.com")),
            (
                "http://M.Facebook.com:8080/path?q=1#frag",
                Some("m.facebook.com"),
            ),
            ("https://user:pw@t.co/abc", Some("t.co")),
            (
                "  https://lm.facebook.com/l.php?u=x  ",
                Some("lm.facebook.com"),
            ),
            ("https://192.168.0.1/", Some("192.168.0.1")),
            ("https://[2001:DB8::1]/", Some("[2001:db8::1]")),
            ("https://bücher.example/", Some("xn--bcher-kva.example")),
        ];
        for (referer, want) in cases {
            assert_eq!(referrer_host(Some(referer)).as_deref(), want, "{referer}");
        }
    }

    #[test]
    fn the_plain_host_path_agrees_with_the_url_parser() {
        // Generated referrers around every rule of `plain_web_host`: each must give what
        // the URL standard's parser gives, and the common shapes must take the plain path.
        let schemes = [
            "http://", "https://", "HTTPS://", "hTtP://", "ftp://", "http:/", "https:", "http:\\",
        ];
        let labels = [
            "a",
            "B",
            "l",
            "instagram",
            "com",
            "co-uk",
            "xn--bcher-kva",
            "XN--zz",
            "1",
            "123",
            "0x7f",
            "0X1",
            "-a",
            "a-",
            "a_b",
            "ü",
            "%41",
            "",
            "255",
            "a b",
            "a\tb",
        ];
        let users = ["", "user@", "u:p@", "@"];
        let ports = [
            "", ":", ":80", ":65535", ":65536", ":0080", ":8a", ":999999", ":00000",
        ];
        let tails = [
            "", "/", "/p?q=1", "?x", "#f", "\\x", "\t/", "/ x", ":/", "@x",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut plain = 0;
        for _ in 0..40_000 {
            let host: Vec<&str> = (0..1 + next(4))
                .map(|_| labels[next(labels.len())])
                .collect();
            let referer = format!(
                "{}{}{}{}{}",
                schemes[next(schemes.len())],
                users[next(4) / 3 * next(users.len())],
                host.join("."),
                ports[next(ports.len())],
                tails[next(tails.len())]
            );
            let want = parsed_web_host(&referer);
            assert_eq!(referrer_host(Some(&referer)), want, "{referer:?}");
            if let Some(host) = plain_web_host(&referer) {
                assert_eq!(Some(host.to_ascii_lowercase()), want, "{referer:?}");
                plain += 1;
            }
        }
        assert!(
            plain > 1_000,
            "only {plain} generated referrers took the plain path"
        );
        for common in [
            "https://l.instagram.com/",
            "https://www.google.com/",
            "https://t.co/",
            "http://m.facebook.com:8080/x",
            "https://lm.facebook.com/l.php?u=x",
        ] {
            assert!(plain_web_host(common).is_some(), "{common}");
        }
    }

    #[test]
    fn referrer_host_android_app_gives_the_package() {
        let cases = [
            (
                "android-app://com.google.android.gm/",
                Some("com.google.android.gm"),
            ),
            (
                "android-app://com.google.android.gm",
                Some("com.google.android.gm"),
            ),
            (
                "android-app://com.Slack/https/slack.com/x",
                Some("com.slack"),
            ),
            (
                "ANDROID-APP://org.telegram.messenger?x=1",
                Some("org.telegram.messenger"),
            ),
            ("android-app:///", None),
            ("android-app://", None),
            ("android-app://bad package/", None),
            ("android-app://1abc/", None),
        ];
        for (referer, want) in cases {
            assert_eq!(referrer_host(Some(referer)).as_deref(), want, "{referer}");
        }
    }

    #[test]
    fn referrer_host_rejects_absent_unparseable_and_other_schemes() {
        for referer in [
            None,
            Some(""),
            Some("   "),
            Some("l.instagram.com"),
            Some("/relative/path"),
            Some("https://"),
            Some("http://exa mple.com/"),
            Some("ftp://example.com/file"),
            Some("file:///etc/passwd"),
            Some("javascript:alert(1)"),
            Some("ios-app://123456/example"),
            Some("about:blank"),
        ] {
            assert_eq!(referrer_host(referer), None, "{referer:?}");
        }
    }

    #[test]
    fn a_prepared_hasher_gives_the_same_hashes_every_time() {
        let hasher = VisitorHasher::new(b"secret");
        let ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)";
        for (day, ip) in [
            (19_700, "203.0.113.7"),
            (19_701, "203.0.113.7"),
            (19_700, "::1"),
        ] {
            let want = visitor_hash(b"secret", day, ip, ua);
            assert_eq!(hasher.hash(day, ip, ua), want);
            assert_eq!(
                hasher.hash(day, ip, ua),
                want,
                "a reused hasher keeps no state"
            );
        }
        // A long key (hashed down first by HMAC) as well.
        let long = [7u8; 100];
        assert_eq!(
            VisitorHasher::new(&long).hash(1, "1.2.3.4", "x"),
            visitor_hash(&long, 1, "1.2.3.4", "x")
        );
    }

    #[test]
    fn visitor_hash_is_deterministic_short_hex() {
        let ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)";
        let a = visitor_hash(b"secret", 19_700, "203.0.113.7", ua);
        assert_eq!(a, visitor_hash(b"secret", 19_700, "203.0.113.7", ua));
        assert_eq!(a.len(), 16);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert!(!a.contains("203.0.113.7"));
    }

    #[test]
    fn visitor_hash_changes_with_every_input() {
        let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)";
        let base = visitor_hash(b"secret", 19_700, "203.0.113.7", ua);
        assert_ne!(
            base,
            visitor_hash(b"secret", 19_701, "203.0.113.7", ua),
            "day"
        );
        assert_ne!(
            base,
            visitor_hash(b"secret", 19_700, "203.0.113.8", ua),
            "ip"
        );
        assert_ne!(
            base,
            visitor_hash(b"secret", 19_700, "203.0.113.7", "curl/8"),
            "ua"
        );
        assert_ne!(
            base,
            visitor_hash(b"other", 19_700, "203.0.113.7", ua),
            "secret"
        );
        // Length prefix: moving bytes between ip and ua changes the hash.
        assert_ne!(
            visitor_hash(b"k", 1, "1.2.3.4", "5x"),
            visitor_hash(b"k", 1, "1.2.3.45", "x")
        );
        // Empty secret and empty inputs are fine.
        assert_eq!(visitor_hash(b"", 0, "", "").len(), 16);
    }

    fn sip(k0: u64, k1: u64, parts: &[&[u8]]) -> u64 {
        let mut h = SipHash24::new(k0, k1);
        for part in parts {
            h.write(part);
        }
        h.finish()
    }

    #[test]
    fn siphash_gives_the_reference_vectors() {
        // The paper's key 00 01 .. 0f; messages 00 01 .. (n - 1).
        let (k0, k1) = (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908);
        let message: Vec<u8> = (0..15).collect();
        assert_eq!(sip(k0, k1, &[]), 0x726f_db47_dd0e_0e31);
        assert_eq!(sip(k0, k1, &[&message]), 0xa129_ca61_49be_45e5);
    }

    #[test]
    #[allow(deprecated)] // the standard library's SipHash-2-4, kept as the reference here
    fn siphash_matches_the_standard_library_however_the_input_is_split() {
        use std::hash::Hasher;
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for len in 0..80usize {
            let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let (k0, k1) = (next(), next());
            let mut reference = std::hash::SipHasher::new_with_keys(k0, k1);
            reference.write(&data);
            let want = reference.finish();
            assert_eq!(sip(k0, k1, &[&data]), want, "len {len}");
            // Every split into three writes, including empty ones.
            for a in 0..=len {
                for b in a..=len {
                    let parts = [&data[..a], &data[a..b], &data[b..]];
                    assert_eq!(sip(k0, k1, &parts), want, "len {len} split {a} {b}");
                }
            }
        }
    }

    #[test]
    #[allow(deprecated)] // the standard library's SipHash-2-4 as an independent reference
    fn visitor_hash_matches_a_known_vector() {
        // Pins the encoding: after a change, a visitor seen on both sides of it on the same
        // day counts twice that day (hashes are only ever compared within a day).
        use std::hash::Hasher;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"k").unwrap();
        mac.update(b"in2carts/visitor/siphash-2-4 key");
        let key = mac.finalize().into_bytes();
        let k0 = u64::from_le_bytes(key[..8].try_into().unwrap());
        let k1 = u64::from_le_bytes(key[8..16].try_into().unwrap());
        let mut message = b"in2carts/visitor/v2\0".to_vec();
        message.extend_from_slice(&7u64.to_be_bytes());
        message.extend_from_slice(&3u64.to_be_bytes());
        message.extend_from_slice(b"::1ua");
        let mut reference = std::hash::SipHasher::new_with_keys(k0, k1);
        reference.write(&message);
        let want = format!("{:016x}", reference.finish());
        assert_eq!(visitor_hash(b"k", 7, "::1", "ua"), want);
    }
}
