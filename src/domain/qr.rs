//! QR code rendering: style options, their validation, and our own PNG and
//! SVG encoders on top of the `qrcode` crate's module matrix.
//!
//! Pure logic with no `worker` imports: it compiles natively (unit tests,
//! benches) and for `wasm32-unknown-unknown`. Nothing here panics on any
//! input — a panic would poison the Wasm instance — so input-dependent
//! lookups go through `get` and every failure is a value.
//!
//! The PNG encoder writes a 1-bit, two-colour palette image with one
//! zlib-compressed `IDAT`; the `image` crate is
//! deliberately not used, to keep the Wasm bundle small.

use core::fmt::Write as _;

use qrcode::{Color, QrCode};
use sha2::{Digest, Sha256};

/// Smallest accepted image width/height in pixels.
pub const MIN_SIZE: u32 = 64;
/// Largest accepted image width/height in pixels (bounds CPU and memory per request).
pub const MAX_SIZE: u32 = 2048;
/// Largest accepted quiet zone, in modules on each side.
pub const MAX_MARGIN: u32 = 16;

/// Minimum WCAG contrast ratio between `fg` and `bg`.
///
/// 3:1 is the WCAG 2.x minimum for non-text graphical objects that carry
/// meaning (success criterion 1.4.11), which is what a QR code is. Phone
/// readers binarise the camera image against a local threshold, so what
/// matters is the *ratio* of the two luminances rather than the hues; at 3:1
/// the two colours stay clearly apart even after glare, screen gamma or cheap
/// printing have eaten some of the difference. A stricter 4.5:1 (the text
/// criterion) would reject common brand palettes such as mid-tone blues on
/// white that scan reliably, while anything below 3:1 (e.g. light grey on
/// white, pastel on pastel) is where decoding starts to fail in practice.
pub const MIN_CONTRAST: f64 = 3.0;

/// Refuse data longer than any QR code can hold before handing it to the
/// encoder (version 40-L holds at most 7089 numeric characters), so a huge
/// input costs nothing.
const MAX_DATA_BYTES: usize = 7089;

/// zlib level for PNG `IDAT`. Measured with `benches/qr.rs` for a typical
/// short link (native, release profile): level 1 gives 1.3 KB at 512 px and
/// 12 KB at 2048 px; level 6 halves the 512 px file (0.65 KB) and quarters
/// the 2048 px one (3 KB) but costs ~35 % more CPU at 512 px and ~2.3× at
/// 2048 px. Files are tiny and cached behind a strong ETag either way, while
/// Worker CPU time is billed and capped per request, so: fast.
const PNG_ZLIB_LEVEL: u8 = 1;

/// Output image format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Png,
    Svg,
}

impl Format {
    /// `"png"` or `"svg"`, case-insensitive.
    pub fn parse(s: &str) -> Option<Format> {
        if s.eq_ignore_ascii_case("png") {
            Some(Format::Png)
        } else if s.eq_ignore_ascii_case("svg") {
            Some(Format::Svg)
        } else {
            None
        }
    }

    /// Lowercase name, as used in file extensions.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
        }
    }
}

/// Error-correction level: the share of the code that may be damaged or
/// covered and still decode (L ≈ 7 %, M ≈ 15 %, Q ≈ 25 %, H ≈ 30 %).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EcLevel {
    L,
    M,
    Q,
    H,
}

impl EcLevel {
    /// `'L'`, `'M'`, `'Q'` or `'H'`.
    pub fn as_char(self) -> char {
        match self {
            EcLevel::L => 'L',
            EcLevel::M => 'M',
            EcLevel::Q => 'Q',
            EcLevel::H => 'H',
        }
    }

    /// One of `L`, `M`, `Q`, `H`, case-insensitive; nothing else.
    pub fn parse(s: &str) -> Option<EcLevel> {
        match s {
            "L" | "l" => Some(EcLevel::L),
            "M" | "m" => Some(EcLevel::M),
            "Q" | "q" => Some(EcLevel::Q),
            "H" | "h" => Some(EcLevel::H),
            _ => None,
        }
    }

    fn to_qrcode(self) -> qrcode::EcLevel {
        match self {
            EcLevel::L => qrcode::EcLevel::L,
            EcLevel::M => qrcode::EcLevel::M,
            EcLevel::Q => qrcode::EcLevel::Q,
            EcLevel::H => qrcode::EcLevel::H,
        }
    }
}

/// An sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub const BLACK: Rgb = Rgb(0, 0, 0);
    pub const WHITE: Rgb = Rgb(0xff, 0xff, 0xff);

    /// Parses `rrggbb` or `rgb`, with or without a leading `#`,
    /// case-insensitive. Anything else (whitespace, names, alpha) is `None`.
    pub fn parse_hex(s: &str) -> Option<Rgb> {
        let hex = s.strip_prefix('#').unwrap_or(s).as_bytes();
        match *hex {
            [r, g, b] => {
                let (r, g, b) = (hex_digit(r)?, hex_digit(g)?, hex_digit(b)?);
                Some(Rgb(r * 17, g * 17, b * 17))
            }
            [r1, r2, g1, g2, b1, b2] => Some(Rgb(
                (hex_digit(r1)? << 4) | hex_digit(r2)?,
                (hex_digit(g1)? << 4) | hex_digit(g2)?,
                (hex_digit(b1)? << 4) | hex_digit(b2)?,
            )),
            _ => None,
        }
    }

    /// `#rrggbb`, lowercase.
    pub fn to_hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// WCAG 2.x relative luminance, 0.0 (black) ..= 1.0 (white).
    pub fn relative_luminance(self) -> f64 {
        fn linear(c: u8) -> f64 {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        }
        0.2126 * linear(self.0) + 0.7152 * linear(self.1) + 0.0722 * linear(self.2)
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// WCAG 2.x contrast ratio between two colours: 1.0 (same luminance) ..= 21.0
/// (black and white). Symmetric in its arguments.
pub fn contrast_ratio(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (a.relative_luminance(), b.relative_luminance());
    let (hi, lo) = if la >= lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// How a QR code is drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct Style {
    /// Width and height of the whole image in pixels, quiet zone included
    /// (`MIN_SIZE..=MAX_SIZE`). See [`render`] for the one case where the
    /// image comes out larger.
    pub size: u32,
    /// Quiet zone in modules on each side, `0..=MAX_MARGIN`. The QR standard
    /// asks for 4; less is allowed for codes placed on an already plain
    /// background, but some readers struggle without it.
    pub margin: u32,
    pub ec: EcLevel,
    /// Colour of dark modules; must be darker than `bg`.
    pub fg: Rgb,
    /// Colour of light modules and the quiet zone.
    pub bg: Rgb,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            size: 512,
            margin: 4,
            ec: EcLevel::M,
            fg: Rgb::BLACK,
            bg: Rgb::WHITE,
        }
    }
}

/// One invalid style option. `key` is the option's name: `"size"`,
/// `"margin"`, `"ec"`, `"fg"` or `"bg"`; colour-contrast problems are
/// reported on `"fg"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StyleProblem {
    pub key: &'static str,
    pub message: String,
}

impl StyleProblem {
    fn new(key: &'static str, message: impl Into<String>) -> Self {
        StyleProblem {
            key,
            message: message.into(),
        }
    }
}

const KEYS: [&str; 5] = ["size", "margin", "ec", "fg", "bg"];

fn key_rank(key: &str) -> usize {
    KEYS.iter().position(|k| *k == key).unwrap_or(KEYS.len())
}

fn size_message() -> String {
    format!("size must be a whole number of pixels from {MIN_SIZE} to {MAX_SIZE}")
}

fn margin_message() -> String {
    format!(
        "margin must be a whole number of modules from 0 to {MAX_MARGIN} (4 is the standard quiet zone)"
    )
}

fn colour_message(key: &str) -> String {
    format!("{key} must be a hex colour such as #1a237e or #fff")
}

/// Plain decimal digits only (no sign, no whitespace), fitting a `u32`.
fn parse_whole(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Applies optional overrides — raw strings as they come from a query string
/// or JSON — onto `base`, validating each, and then the resulting style as a
/// whole (see [`validate_style`]). Returns every problem at once, ordered
/// size, margin, ec, fg, bg, at most one per key. When a colour does not
/// parse, the contrast check is skipped (it would judge a colour the caller
/// did not ask for).
///
/// # Errors
///
/// Every [`StyleProblem`] found, when any option is malformed or the
/// resulting style is invalid.
pub fn style_from_options(
    base: &Style,
    size: Option<&str>,
    margin: Option<&str>,
    ec: Option<&str>,
    fg: Option<&str>,
    bg: Option<&str>,
) -> Result<Style, Vec<StyleProblem>> {
    let mut style = base.clone();
    let mut problems = Vec::new();

    if let Some(raw) = size {
        match parse_whole(raw) {
            Some(v) => style.size = v,
            None => problems.push(StyleProblem::new("size", size_message())),
        }
    }
    if let Some(raw) = margin {
        match parse_whole(raw) {
            Some(v) => style.margin = v,
            None => problems.push(StyleProblem::new("margin", margin_message())),
        }
    }
    if let Some(raw) = ec {
        match EcLevel::parse(raw) {
            Some(v) => style.ec = v,
            None => problems.push(StyleProblem::new("ec", "ec must be one of L, M, Q, H")),
        }
    }
    let mut colour_unparsed = false;
    for (key, raw, slot) in [("fg", fg, &mut style.fg), ("bg", bg, &mut style.bg)] {
        if let Some(raw) = raw {
            match Rgb::parse_hex(raw) {
                Some(v) => *slot = v,
                None => {
                    colour_unparsed = true;
                    problems.push(StyleProblem::new(key, colour_message(key)));
                }
            }
        }
    }

    for p in validate_style(&style) {
        let already = problems.iter().any(|q| q.key == p.key);
        // Colour problems judge the pair; skip them if either did not parse.
        let judged_colour = p.key == "fg" || p.key == "bg";
        let skip = already || (judged_colour && colour_unparsed);
        if !skip {
            problems.push(p);
        }
    }

    if problems.is_empty() {
        Ok(style)
    } else {
        problems.sort_by_key(|p| key_rank(p.key));
        Err(problems)
    }
}

/// Validates a whole style, e.g. one given as JSON: `size` within
/// `MIN_SIZE..=MAX_SIZE`, `margin` at most `MAX_MARGIN`, and scannability:
/// the contrast ratio of `fg` on `bg` must be at least [`MIN_CONTRAST`]
/// (3:1, see there why) and `fg` must be darker than `bg`, because inverted
/// (light-on-dark) codes are not read by many phone readers. Colour problems
/// are reported once, on `"fg"`. Empty when the style is valid.
pub fn validate_style(style: &Style) -> Vec<StyleProblem> {
    let mut problems = Vec::new();
    if !(MIN_SIZE..=MAX_SIZE).contains(&style.size) {
        problems.push(StyleProblem::new(
            "size",
            format!("{} (got {})", size_message(), style.size),
        ));
    }
    if style.margin > MAX_MARGIN {
        problems.push(StyleProblem::new(
            "margin",
            format!("{} (got {})", margin_message(), style.margin),
        ));
    }

    let mut colour = Vec::new();
    if style.fg.relative_luminance() > style.bg.relative_luminance() {
        colour.push(format!(
            "fg {} must be darker than bg {}: light-on-dark codes do not scan on many phone readers",
            style.fg.to_hex(),
            style.bg.to_hex()
        ));
    }
    let ratio = contrast_ratio(style.fg, style.bg);
    if ratio < MIN_CONTRAST {
        colour.push(format!(
            "contrast between fg {} and bg {} is {:.2}:1, below the {:.0}:1 needed to scan reliably",
            style.fg.to_hex(),
            style.bg.to_hex(),
            // Round down so the message never shows "3.00:1" for a refused pair.
            (ratio * 100.0).floor() / 100.0,
            MIN_CONTRAST
        ));
    }
    if !colour.is_empty() {
        problems.push(StyleProblem::new("fg", colour.join("; ")));
    }
    problems
}

/// Why rendering failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenderError {
    /// The data does not fit in a QR code at the chosen error-correction level.
    DataTooLong,
}

impl core::fmt::Display for RenderError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RenderError::DataTooLong => {
                f.write_str("data is too long for a QR code at this error-correction level")
            }
        }
    }
}

impl std::error::Error for RenderError {}

/// `Content-Type` of a rendered format.
pub fn content_type(format: Format) -> &'static str {
    match format {
        Format::Png => "image/png",
        Format::Svg => "image/svg+xml",
    }
}

/// The renderer's version, part of every [`etag`] (and of the image cache's
/// keys): bump it whenever the output bytes for the same inputs change.
/// `q2`: PNG modules fill the requested size (`q1` padded the leftover as border).
pub const RENDERER_VERSION: &str = "q2";

/// Strong ETag for the image [`render`] makes of `(data, style, format)`:
/// `"q2-<16 hex digits>"`, quotes included, from SHA-256 of a canonical,
/// unambiguous serialisation that starts with [`RENDERER_VERSION`].
pub fn etag(data: &str, style: &Style, format: Format) -> String {
    let header = format!(
        "{RENDERER_VERSION}\n{}\n{}\n{}\n{}\n{}\n{}\n",
        format.as_str(),
        style.size,
        style.margin,
        style.ec.as_char(),
        style.fg.to_hex(),
        style.bg.to_hex()
    );
    let mut hasher = Sha256::new();
    hasher.update(header.as_bytes());
    // The data goes last, so no delimiter inside it can be ambiguous.
    hasher.update(data.as_bytes());
    let digest = hasher.finalize();
    let mut out = String::with_capacity(22);
    out.push('"');
    out.push_str(RENDERER_VERSION);
    out.push('-');
    for b in digest.iter().take(8) {
        let _ = write!(out, "{b:02x}");
    }
    out.push('"');
    out
}

/// Renders `data` (a URL) as PNG bytes or SVG text bytes.
///
/// The image is `style.size` pixels square, quiet zone (`style.margin`
/// modules each side) included, and the code with its quiet zone fills it:
/// the `modules + 2 * margin` cells per side share the image's pixels, each
/// `floor(size / cells)` or one more, the wider ones spread evenly, so module
/// edges fall on whole pixels and the quiet zone is `margin` modules wide, to
/// the pixel; or, with modules of at most 4 px whose leftover fits in the
/// quiet zone, all modules one width and the quiet zone within a module of
/// `margin` (see [`Layout::new`]). When even 1 pixel per module does
/// not fit (long data at a small size), the image is drawn at 1 pixel per
/// module and comes out *larger* than requested, `cells` pixels square,
/// rather than an unscannable one. The SVG has the same outer dimension, in
/// exact module units. [`size_problem`] tells whether a style gives every
/// module at least [`MIN_MODULE_PX`] pixels, as served images must.
///
/// `render` never fails on a style: it clamps an out-of-range `size` into
/// `MIN_SIZE..=MAX_SIZE` and `margin` to `MAX_MARGIN` (call
/// [`validate_style`] first to report them), and draws any colours as given.
/// The only error is data that does not fit in a QR code.
///
/// # Errors
///
/// [`RenderError::DataTooLong`] when `data` does not fit in a QR code (at
/// most ~2.9 KB of URL at EC level L, less at higher levels).
pub fn render(data: &str, style: &Style, format: Format) -> Result<Vec<u8>, RenderError> {
    let matrix = Matrix::encode(data, style.ec)?;
    let layout = Layout::new(matrix.width, style);
    Ok(match format {
        Format::Png => encode_png(&matrix, &layout, style.fg, style.bg),
        Format::Svg => encode_svg(&matrix, &layout, style.fg, style.bg).into_bytes(),
    })
}

/// The PNG of the previous renderer (`q1`), kept to measure the current one
/// against it (the decode-robustness comparison and `benches/qr.rs`); nothing
/// serves it, and it is not built for Wasm. Each module is
/// `floor(size / cells)` pixels and the leftover is extra border, split
/// around the code: at 128 px and EC H a short link's code spans 74 px.
///
/// # Errors
///
/// As [`render`].
#[doc(hidden)]
#[cfg(not(target_arch = "wasm32"))]
pub fn render_png_fixed_scale(data: &str, style: &Style) -> Result<Vec<u8>, RenderError> {
    let matrix = Matrix::encode(data, style.ec)?;
    let layout = Layout::fixed_scale(matrix.width, style);
    Ok(encode_png(&matrix, &layout, style.fg, style.bg))
}

/// Fewest pixels any module of a served PNG may get: below 2, a code is at
/// the mercy of every resampling between the file and the camera.
pub const MIN_MODULE_PX: u32 = 2;

/// Modules per side of the QR code of `data` at `ec` (21 at version 1 …
/// 177 at version 40), from the encoder's choice of version, without
/// drawing the code.
///
/// # Errors
///
/// [`RenderError::DataTooLong`] when `data` does not fit in a QR code.
pub fn module_count(data: &str, ec: EcLevel) -> Result<u32, RenderError> {
    if data.len() > MAX_DATA_BYTES {
        return Err(RenderError::DataTooLong);
    }
    let bits = qrcode::bits::encode_auto(data.as_bytes(), ec.to_qrcode())
        .map_err(|_| RenderError::DataTooLong)?;
    u32::try_from(bits.version().width()).map_err(|_| RenderError::DataTooLong)
}

/// Smallest `size` that gives each of the `modules + 2 * margin` cells of a
/// code at least [`MIN_MODULE_PX`] pixels (and at least [`MIN_SIZE`]). At
/// most 2 × (177 + 32) = 418, so always within [`MAX_SIZE`].
pub fn smallest_size(modules: u32, margin: u32) -> u32 {
    let cells = modules.saturating_add(margin.min(MAX_MARGIN).saturating_mul(2));
    cells.saturating_mul(MIN_MODULE_PX).max(MIN_SIZE)
}

/// The problem, at key `"size"`, when `style` would give the code of `data`
/// fewer than [`MIN_MODULE_PX`] pixels per module; its message names the
/// smallest size that works for this data, EC level and margin. `None` when
/// the style fits, and when `data` does not fit in a QR code at all (that is
/// [`render`]'s error to report).
pub fn size_problem(data: &str, style: &Style) -> Option<StyleProblem> {
    let modules = module_count(data, style.ec).ok()?;
    let least = smallest_size(modules, style.margin);
    (style.size < least).then(|| {
        StyleProblem::new(
            "size",
            format!(
                "size {} leaves this QR code under {MIN_MODULE_PX} pixels per module \
                 ({modules} modules at ec {}, plus {} of quiet zone on each side): \
                 use size {least} or more, or a lower ec or margin",
                style.size,
                style.ec.as_char(),
                style.margin.min(MAX_MARGIN),
            ),
        )
    })
}

/// The QR module grid, row-major, `true` = dark.
struct Matrix {
    width: u32,
    dark: Vec<bool>,
}

impl Matrix {
    fn encode(data: &str, ec: EcLevel) -> Result<Matrix, RenderError> {
        if data.len() > MAX_DATA_BYTES {
            return Err(RenderError::DataTooLong);
        }
        let code = QrCode::with_error_correction_level(data.as_bytes(), ec.to_qrcode())
            .map_err(|_| RenderError::DataTooLong)?;
        let width = u32::try_from(code.width()).map_err(|_| RenderError::DataTooLong)?;
        let dark = code
            .into_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        Ok(Matrix { width, dark })
    }

    fn is_dark(&self, x: u32, y: u32) -> bool {
        let i = y as usize * self.width as usize + x as usize;
        x < self.width && self.dark.get(i).copied().unwrap_or(false)
    }

    /// Maximal horizontal runs of dark modules in row `y`, as `(x, len)`.
    fn runs(&self, y: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        let mut x = 0;
        core::iter::from_fn(move || {
            while x < self.width && !self.is_dark(x, y) {
                x += 1;
            }
            if x >= self.width {
                return None;
            }
            let start = x;
            while x < self.width && self.is_dark(x, y) {
                x += 1;
            }
            Some((start, x - start))
        })
    }
}

/// Widest module that [`Layout::even_modules`] gives one width: up to 4 px
/// a 1-pixel step is a quarter of a module or more, and costs decodes; with
/// wider modules it is noise, and one width for all of them can cost more
/// (zbar misses more JPEG-compressed 512 px codes drawn with 14 px modules
/// than with a mix of 13 and 14: bench/RESULTS.md's figures were measured
/// with this limit).
const EVEN_MODULES_MAX_PX: u32 = 4;

/// Pixel geometry of the image: the code and its quiet zone are a grid of
/// `cells = modules + 2 * margin` cells per side, and cell `i` covers pixels
/// `edges[i]..edges[i + 1]`, across and down alike. All values are small
/// (modules ≤ 177, margin ≤ 16, image ≤ 2048), so `u32` arithmetic cannot
/// overflow.
#[derive(Debug, PartialEq, Eq)]
struct Layout {
    /// Modules per side of the code itself, quiet zone excluded.
    modules: u32,
    /// Quiet zone in modules.
    margin: u32,
    /// Image width and height in pixels.
    image: u32,
    /// `cells + 1` increasing pixel positions: where each cell starts, then
    /// where the last one ends.
    edges: Vec<u32>,
}

impl Layout {
    /// The grid fills the image. When the pixels left over by whole-pixel
    /// modules fit in the quiet zone with at most a module more (or half a
    /// module less) on each side, the modules are all `floor` or all `ceil` of
    /// `image / cells` pixels and the quiet zone takes the difference (see
    /// [`Layout::even_modules`]). Otherwise cell `i` starts at
    /// `floor((i * image + phase) / cells)`: every edge a whole pixel, the
    /// first 0 and the last `image`, each cell `floor(image / cells)` pixels
    /// or one more, and the wider cells spread evenly, as a line-drawing
    /// algorithm spreads its steps; any `k` consecutive cells are within a
    /// pixel of `k * image / cells`, so the quiet zone is `margin` modules
    /// to the pixel.
    ///
    /// The phase (`0..cells`) only chooses where the wider cells fall. It is
    /// the one whose finder patterns look most like the rest of the code (see
    /// [`finder_distortion`]), the centred one (`cells / 2`, rounding to the
    /// nearest pixel) among equals. With the phase fixed, a wider cell can
    /// fall just outside all three finder patterns at once, leaving them
    /// narrower than the code's pitch, and zbar then misses the code at some
    /// sizes (such as 96 px at EC H for a 37-module code).
    fn new(modules: u32, style: &Style) -> Layout {
        let size = style.size.clamp(MIN_SIZE, MAX_SIZE);
        let margin = style.margin.min(MAX_MARGIN);
        let cells = (modules + 2 * margin).max(1);
        let image = size.max(cells);
        if let Some(layout) = Layout::even_modules(modules, margin, image) {
            return layout;
        }
        let edge = |phase: u32, i: u32| (i * image + phase) / cells;
        let pitch = f64::from(image) / f64::from(cells);
        // The finder patterns' cells, across and down: the top-left pattern is
        // on the first span both ways, the top-right and bottom-left mix them.
        let spans = [margin, (margin + modules).saturating_sub(7)];
        let distortion = |phase: u32| {
            spans
                .iter()
                .map(|&start| finder_distortion(|i| edge(phase, start + i), pitch))
                .fold(0.0, f64::max)
        };
        let centred = cells / 2;
        let mut best = (centred, distortion(centred));
        if !image.is_multiple_of(cells) {
            for phase in 0..cells {
                let d = distortion(phase);
                let closer = phase.abs_diff(centred) < best.0.abs_diff(centred);
                if d < best.1 || (d == best.1 && closer) {
                    best = (phase, d);
                }
            }
        }
        let edges = (0..=cells).map(|i| edge(best.0, i)).collect();
        Layout {
            modules,
            margin,
            image,
            edges,
        }
    }

    /// Modules of one width, `floor` or `ceil` of `image / cells` (the wider
    /// when both fit), when the quiet zone is then no more than half a module
    /// narrower and no more than a module wider than `margin` modules on
    /// either side: a handful of 1-pixel
    /// steps across the code costs more decodes after a downscale than that
    /// border does (bench/RESULTS.md: at 128 px and EC Q, 5 of 41 cells
    /// wider). The quiet zone's own cells share its pixels evenly. Not with
    /// `margin` 0 (no quiet zone is added where none was asked for), nor for
    /// modules wider than [`EVEN_MODULES_MAX_PX`].
    fn even_modules(modules: u32, margin: u32, image: u32) -> Option<Layout> {
        let cells = modules + 2 * margin;
        if margin == 0 {
            return None;
        }
        let fits = |px: u32| {
            let code = modules.checked_mul(px)?;
            let spare = image.checked_sub(code)?;
            let (before, after) = (spare / 2, spare.div_ceil(2));
            let want = margin * px;
            // At most half a module less on either side, at most one more.
            let ok = 2 * before + px >= 2 * want && after <= want + px;
            (ok && (1..=EVEN_MODULES_MAX_PX).contains(&px)).then_some((px, before))
        };
        let (px, before) = fits(image.div_ceil(cells)).or_else(|| fits(image / cells))?;
        let after = image - before - modules * px;
        let mut edges = Vec::with_capacity(cells as usize + 1);
        edges.extend((0..margin).map(|i| i * before / margin));
        edges.extend((0..=modules).map(|j| before + j * px));
        edges.extend((1..=margin).map(|i| before + modules * px + i * after / margin));
        Some(Layout {
            modules,
            margin,
            image,
            edges,
        })
    }

    /// The previous geometry (see [`render_png_fixed_scale`]).
    #[cfg(not(target_arch = "wasm32"))]
    fn fixed_scale(modules: u32, style: &Style) -> Layout {
        let size = style.size.clamp(MIN_SIZE, MAX_SIZE);
        let margin = style.margin.min(MAX_MARGIN);
        let cells = (modules + 2 * margin).max(1);
        let scale = (size / cells).max(1);
        let image = size.max(cells * scale);
        let pad = (image - cells * scale) / 2;
        let edges = (0..=cells).map(|i| pad + i * scale).collect();
        Layout {
            modules,
            margin,
            image,
            edges,
        }
    }

    /// Where cell `i` starts (or, for `i == cells`, where the grid ends).
    fn edge(&self, i: u32) -> u32 {
        self.edges.get(i as usize).copied().unwrap_or(self.image)
    }

    /// Pixel span of `len` cells from cell `from`, as (start, width).
    fn span(&self, from: u32, len: u32) -> (u32, u32) {
        let start = self.edge(from);
        (start, self.edge(from + len).saturating_sub(start))
    }
}

/// How far a finder pattern drawn with cell edges `edge(0..=7)` is from what
/// a reader expects, in modules: the larger of how far one of its runs is
/// from its 1:1:3:1:1 share of the pattern (which is how readers find it),
/// and how far the pattern's width is from 7 modules of the code's `pitch`
/// (readers take the code's module size and version from the patterns).
fn finder_distortion(edge: impl Fn(u32) -> u32, pitch: f64) -> f64 {
    let px = |a: u32, b: u32| f64::from(edge(b).saturating_sub(edge(a)));
    let width = px(0, 7);
    let module = width / 7.0;
    if module <= 0.0 || pitch <= 0.0 {
        return 0.0;
    }
    [
        (0, 1, 1.0),
        (1, 2, 1.0),
        (2, 5, 3.0),
        (5, 6, 1.0),
        (6, 7, 1.0),
    ]
    .iter()
    .map(|&(a, b, share)| (px(a, b) / module - share).abs())
    .fold((width - 7.0 * pitch).abs() / pitch, f64::max)
}

// ---------------------------------------------------------------- PNG

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320) lookup table, computed
/// at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

/// Feeds `bytes` into a running (pre-inverted) CRC-32 register.
fn crc32_update(mut crc: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        crc = CRC_TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// CRC-32 as used by PNG (and zip, gzip, Ethernet). `push_chunk` feeds the
/// register incrementally instead; this whole-buffer form is for tests.
#[cfg(test)]
fn crc32(bytes: &[u8]) -> u32 {
    !crc32_update(!0, bytes)
}

fn push_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    // Chunks here are at most a few hundred KiB, far below u32::MAX.
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = !crc32_update(crc32_update(!0, kind), data);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Sets `len` bits (pixels) from bit `from`, most significant bit first.
fn set_bits(row: &mut [u8], from: u32, len: u32) {
    for px in from..from.saturating_add(len) {
        if let Some(byte) = row.get_mut((px / 8) as usize) {
            *byte |= 0x80u8 >> (px % 8);
        }
    }
}

/// 1 bit per pixel, no interlace, scanlines with filter type 0 (or 2 for a repeat), and a
/// two-entry palette: index 0 = bg, 1 = fg. Black on white uses the palette
/// too: a greyscale image would save the 18-byte `PLTE` chunk, but its light
/// background is then all 1-bits, which compresses worse than the palette's
/// all-0 background rows (measured: larger at 512 px and above).
fn encode_png(matrix: &Matrix, layout: &Layout, fg: Rgb, bg: Rgb) -> Vec<u8> {
    let width = layout.image;
    let row_bytes = width.div_ceil(8) as usize;

    // Pixel rows are identical within a module row: build each module row's
    // scanline once, then repeat it for each pixel row of that cell.
    let blank = vec![0u8; row_bytes];
    let module_rows: Vec<Vec<u8>> = (0..matrix.width)
        .map(|my| {
            let mut row = blank.clone();
            for (mx, len) in matrix.runs(my) {
                let (from, px) = layout.span(layout.margin + mx, len);
                set_bits(&mut row, from, px);
            }
            row
        })
        .collect();

    // Which scanline each band of pixel rows shows, top to bottom.
    let cells = layout.modules + 2 * layout.margin;
    let mut bands: Vec<(&[u8], u32)> = Vec::with_capacity(cells as usize + 2);
    bands.push((&blank, layout.edge(0)));
    for cell in 0..cells {
        let row = cell
            .checked_sub(layout.margin)
            .and_then(|m| module_rows.get(m as usize))
            .unwrap_or(&blank);
        bands.push((row, layout.span(cell, 1).1));
    }
    bands.push((&blank, width.saturating_sub(layout.edge(cells))));

    // A pixel row equal to the one above is written with filter type 2 (Up)
    // as all zeros: the same image, and zlib's fastest level then never has
    // to find the repeat (it misses it for some module widths: 34 KB instead
    // of 11 KB at 2048 px).
    let mut raw = Vec::with_capacity((row_bytes + 1) * width as usize);
    let zeros = vec![0u8; row_bytes];
    let mut above: Option<&[u8]> = None;
    for (row, n) in bands {
        for _ in 0..n {
            if above == Some(row) {
                raw.push(2); // filter type 2: Up
                raw.extend_from_slice(&zeros);
            } else {
                raw.push(0); // filter type 0: None
                raw.extend_from_slice(row);
                above = Some(row);
            }
        }
    }
    let idat = miniz_oxide::deflate::compress_to_vec_zlib(&raw, PNG_ZLIB_LEVEL);

    let mut ihdr = [0u8; 13];
    ihdr[0..4].copy_from_slice(&width.to_be_bytes());
    ihdr[4..8].copy_from_slice(&width.to_be_bytes());
    ihdr[8] = 1; // bit depth
    ihdr[9] = 3; // colour type: palette
                 // compression 0, filter method 0, interlace 0: already zero.

    let mut out = Vec::with_capacity(idat.len() + 80);
    out.extend_from_slice(&PNG_SIGNATURE);
    push_chunk(&mut out, b"IHDR", &ihdr);
    push_chunk(&mut out, b"PLTE", &[bg.0, bg.1, bg.2, fg.0, fg.1, fg.2]);
    push_chunk(&mut out, b"IDAT", &idat);
    push_chunk(&mut out, b"IEND", &[]);
    out
}

// ---------------------------------------------------------------- SVG

/// One background `rect` and one `path` whose subpaths are the horizontal
/// runs of dark modules, `M x y h w v1 h-w z`, in module units (the viewBox
/// includes the quiet zone). Only numbers and `#rrggbb` colours are
/// interpolated, so nothing needs escaping.
fn encode_svg(matrix: &Matrix, layout: &Layout, fg: Rgb, bg: Rgb) -> String {
    let total = layout.modules + 2 * layout.margin;
    let mut svg = String::with_capacity(512 + matrix.dark.len() * 4);
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{px}\" height=\"{px}\" \
         viewBox=\"0 0 {total} {total}\" shape-rendering=\"crispEdges\">\
         <rect width=\"{total}\" height=\"{total}\" fill=\"{bg}\"/><path fill=\"{fg}\" d=\"",
        px = layout.image,
        bg = bg.to_hex(),
        fg = fg.to_hex(),
    );
    for y in 0..matrix.width {
        for (x, len) in matrix.runs(y) {
            let _ = write!(
                svg,
                "M{} {}h{len}v1h-{len}z",
                x + layout.margin,
                y + layout.margin
            );
        }
    }
    svg.push_str("\"/></svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://in2carts.com/abc1234?q=01HZX";
    const ALL_EC: [EcLevel; 4] = [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H];

    // ------------------------------------------------ test-only decoders

    /// A decoded image: width, height, one luma byte per pixel.
    #[derive(Debug)]
    struct Grey {
        w: usize,
        h: usize,
        luma: Vec<u8>,
    }

    fn luma(c: Rgb) -> u8 {
        // Rec. 601 weights, as a camera pipeline would roughly do.
        ((299 * u32::from(c.0) + 587 * u32::from(c.1) + 114 * u32::from(c.2)) / 1000) as u8
    }

    fn be32(b: &[u8]) -> u32 {
        u32::from_be_bytes(b[..4].try_into().unwrap())
    }

    /// Decodes the PNGs this module writes (1-bit, two-entry palette,
    /// filter None or Up, no interlace), checking every chunk's CRC on the way.
    fn decode_png(png: &[u8]) -> Grey {
        assert_eq!(&png[..8], &PNG_SIGNATURE, "signature");
        let mut pos = 8;
        let (mut w, mut h, mut colour_type) = (0usize, 0usize, 255u8);
        let mut palette: Vec<Rgb> = Vec::new();
        let mut idat = Vec::new();
        let mut kinds = Vec::new();
        loop {
            let len = be32(&png[pos..]) as usize;
            let kind = &png[pos + 4..pos + 8];
            let data = &png[pos + 8..pos + 8 + len];
            let crc = be32(&png[pos + 8 + len..]);
            assert_eq!(crc, crc32(&png[pos + 4..pos + 8 + len]), "CRC of chunk");
            kinds.push(String::from_utf8(kind.to_vec()).unwrap());
            match kind {
                b"IHDR" => {
                    assert_eq!(len, 13);
                    w = be32(data) as usize;
                    h = be32(&data[4..]) as usize;
                    assert_eq!(data[8], 1, "bit depth");
                    colour_type = data[9];
                    assert_eq!(&data[10..], &[0, 0, 0]);
                }
                b"PLTE" => {
                    palette = data.chunks(3).map(|c| Rgb(c[0], c[1], c[2])).collect();
                }
                b"IDAT" => idat.extend_from_slice(data),
                b"IEND" => {
                    assert_eq!(len, 0);
                    assert_eq!(pos + 12, png.len(), "nothing after IEND");
                    break;
                }
                other => panic!("unexpected chunk {other:?}"),
            }
            pos += 12 + len;
        }
        assert_eq!(kinds.first().map(String::as_str), Some("IHDR"));
        assert_eq!(colour_type, 3, "palette image");
        assert_eq!(palette.len(), 2);
        let to_luma = [luma(palette[0]), luma(palette[1])];
        let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&idat).expect("zlib");
        let stride = w.div_ceil(8) + 1;
        assert_eq!(raw.len(), stride * h, "raw data length");
        let mut luma = Vec::with_capacity(w * h);
        let mut above = vec![0u8; stride - 1];
        for row in raw.chunks(stride) {
            let line: Vec<u8> = match row[0] {
                0 => row[1..].to_vec(),
                // Up: each byte plus the byte above (mod 256).
                2 => row[1..]
                    .iter()
                    .zip(&above)
                    .map(|(b, a)| b.wrapping_add(*a))
                    .collect(),
                other => panic!("filter type {other}"),
            };
            for x in 0..w {
                let bit = (line[x / 8] >> (7 - x % 8)) & 1;
                luma.push(to_luma[bit as usize]);
            }
            above = line;
        }
        Grey { w, h, luma }
    }

    fn attr<'a>(svg: &'a str, name: &str) -> &'a str {
        let start = svg.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
        let len = svg[start..].find('"').unwrap();
        &svg[start..start + len]
    }

    /// Rasterises the SVGs this module writes at `px` pixels per module:
    /// background rect, then the path's `M x y h w v1 h-w z` runs.
    fn rasterize_svg(svg: &str, px: usize) -> Grey {
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<path").count(), 1);
        assert_eq!(svg.matches("<rect").count(), 1);
        assert_eq!(attr(svg, "shape-rendering"), "crispEdges");
        let view: Vec<usize> = attr(svg, "viewBox")
            .split(' ')
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(&view[..2], &[0, 0]);
        assert_eq!(view[2], view[3]);
        let modules = view[2];
        let bg = Rgb::parse_hex(attr(svg, "fill")).unwrap(); // first fill: the rect
        let path = &svg[svg.find("<path").unwrap()..];
        let fg = Rgb::parse_hex(attr(path, "fill")).unwrap();
        let d = attr(path, "d");

        let side = modules * px;
        let mut img = vec![luma(bg); side * side];
        for sub in d.split_terminator('z') {
            // "M{x} {y}h{w}v1h-{w}"
            let rest = sub.strip_prefix('M').expect("M");
            let (x, rest) = rest.split_once(' ').unwrap();
            let (y, rest) = rest.split_once('h').unwrap();
            let (w, rest) = rest.split_once("v1h-").unwrap();
            assert_eq!(w, rest, "run closes on itself");
            let (x, y, w): (usize, usize, usize) =
                (x.parse().unwrap(), y.parse().unwrap(), w.parse().unwrap());
            assert!(w > 0 && x + w <= modules && y < modules);
            for py in y * px..(y + 1) * px {
                for pxx in x * px..(x + w) * px {
                    img[py * side + pxx] = luma(fg);
                }
            }
        }
        Grey {
            w: side,
            h: side,
            luma: img,
        }
    }

    /// Nearest-neighbour upscale by `k`, as a browser or printer enlarging the
    /// image would do: rqrr's detector cannot lock onto 1-pixel modules.
    fn upscale(img: &Grey, k: usize) -> Grey {
        let (w, h) = (img.w * k, img.h * k);
        let luma = (0..w * h)
            .map(|i| img.luma[(i / w / k) * img.w + (i % w) / k])
            .collect();
        Grey { w, h, luma }
    }

    /// Decodes the single QR code in the image: (text, rqrr's ECC field).
    fn scan(img: &Grey) -> (String, u16) {
        let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(img.w, img.h, |x, y| {
            img.luma[y * img.w + x]
        });
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "exactly one QR code found");
        let (meta, text) = grids[0].decode().expect("decodes");
        (text, meta.ecc_level)
    }

    /// rqrr reports the raw 2-bit format field: L=1, M=0, Q=3, H=2.
    fn rqrr_ecc(ec: EcLevel) -> u16 {
        match ec {
            EcLevel::L => 1,
            EcLevel::M => 0,
            EcLevel::Q => 3,
            EcLevel::H => 2,
        }
    }

    fn style(size: u32, ec: EcLevel) -> Style {
        Style {
            size,
            ec,
            ..Style::default()
        }
    }

    fn png(data: &str, style: &Style) -> Grey {
        decode_png(&render(data, style, Format::Png).unwrap())
    }

    // ------------------------------------------------ round trips

    #[test]
    fn png_decodes_at_every_size_and_ec_level() {
        for size in [128, 512, 1024] {
            for ec in ALL_EC {
                let img = png(URL, &style(size, ec));
                assert_eq!((img.w, img.h), (size as usize, size as usize));
                assert_eq!(
                    scan(&img),
                    (URL.to_string(), rqrr_ecc(ec)),
                    "size {size} ec {ec:?}"
                );
            }
        }
    }

    #[test]
    fn png_with_custom_colours_decodes_and_uses_palette() {
        let s = Style {
            fg: Rgb::parse_hex("#1a237e").unwrap(),
            bg: Rgb::parse_hex("#fffde7").unwrap(),
            ..Style::default()
        };
        let bytes = render(URL, &s, Format::Png).unwrap();
        assert_eq!(bytes[8 + 8 + 13 + 4 + 4..][..4], *b"PLTE");
        assert_eq!(
            bytes[8 + 8 + 13 + 4 + 8..][..6],
            [0xff, 0xfd, 0xe7, 0x1a, 0x23, 0x7e],
            "palette is bg then fg"
        );
        let img = decode_png(&bytes);
        assert_eq!(scan(&img).0, URL);
        // Only the two palette colours appear.
        let (dark, light) = (luma(s.fg), luma(s.bg));
        assert!(img.luma.iter().all(|&l| l == dark || l == light));
    }

    #[test]
    fn png_header_is_one_bit_palette() {
        let bytes = render(URL, &Style::default(), Format::Png).unwrap();
        assert_eq!(bytes[8 + 4..][..4], *b"IHDR");
        assert_eq!(bytes[8 + 8 + 8..][..5], [1, 3, 0, 0, 0], "depth 1, palette");
        assert_eq!(bytes[8 + 25 + 4..][..4], *b"PLTE");
        assert_eq!(bytes[8 + 25 + 8..][..6], [255, 255, 255, 0, 0, 0]);
        assert_eq!(bytes[8 + 25 + 18 + 4..][..4], *b"IDAT");
        assert_eq!(scan(&decode_png(&bytes)).0, URL);
    }

    #[test]
    fn svg_rasterized_decodes_for_every_ec_level_and_colours() {
        for ec in ALL_EC {
            let svg =
                String::from_utf8(render(URL, &style(512, ec), Format::Svg).unwrap()).unwrap();
            assert_eq!(
                scan(&rasterize_svg(&svg, 4)),
                (URL.to_string(), rqrr_ecc(ec))
            );
        }
        let s = Style {
            fg: Rgb(0x1a, 0x23, 0x7e),
            bg: Rgb(0xff, 0xfd, 0xe7),
            margin: 2,
            ..Style::default()
        };
        let svg = String::from_utf8(render(URL, &s, Format::Svg).unwrap()).unwrap();
        assert!(svg.contains("fill=\"#fffde7\"") && svg.contains("fill=\"#1a237e\""));
        assert_eq!(scan(&rasterize_svg(&svg, 3)).0, URL);
    }

    #[test]
    fn svg_header_dimensions_and_viewbox() {
        let svg = String::from_utf8(render(URL, &Style::default(), Format::Svg).unwrap()).unwrap();
        let n = QrCode::with_error_correction_level(URL, qrcode::EcLevel::M)
            .unwrap()
            .width();
        let total = n + 8;
        assert_eq!(attr(&svg, "width"), "512");
        assert_eq!(attr(&svg, "height"), "512");
        assert_eq!(attr(&svg, "viewBox"), format!("0 0 {total} {total}"));
        assert!(svg.contains(&format!(
            "<rect width=\"{total}\" height=\"{total}\" fill=\"#ffffff\"/>"
        )));
        // Runs start inside the quiet zone: the top-left finder's top edge.
        assert!(svg.contains("d=\"M4 4h7v1h-7z"));
        assert!(svg.len() < 8 * 1024, "compact: {} bytes", svg.len());
    }

    #[test]
    fn long_url_decodes_from_its_smallest_size() {
        let long = format!("https://in2carts.com/c/{}", "a1B2c3D4e5".repeat(28));
        assert!(long.len() >= 300);
        let n = modules_of(&long, EcLevel::M);
        let least = smallest_size(n, 4);
        assert!(least > 128, "{n} modules");
        assert!(size_problem(&long, &style(128, EcLevel::M)).is_some());
        for size in [least, least + 7, 2 * least + 3] {
            let img = png(&long, &style(size, EcLevel::M));
            assert_eq!((img.w, img.h), (size as usize, size as usize));
            assert_eq!(scan(&img).0, long, "size {size}");
        }
        let svg = String::from_utf8(render(&long, &style(least, EcLevel::M), Format::Svg).unwrap())
            .unwrap();
        assert_eq!(scan(&rasterize_svg(&svg, 3)).0, long);
    }

    #[test]
    fn image_grows_past_size_rather_than_going_below_one_pixel_per_module() {
        let long = format!("https://in2carts.com/c/{}", "a1B2c3D4e5".repeat(100));
        let n = QrCode::with_error_correction_level(&long, qrcode::EcLevel::M)
            .unwrap()
            .width();
        assert!(n + 8 > 128, "{n} modules");
        let img = png(&long, &style(128, EcLevel::M));
        assert_eq!((img.w, img.h), (n + 8, n + 8));
        assert_eq!(scan(&upscale(&img, 3)).0, long);
        let svg = String::from_utf8(render(&long, &style(128, EcLevel::M), Format::Svg).unwrap())
            .unwrap();
        assert_eq!(attr(&svg, "width"), (n + 8).to_string());
        assert_eq!(scan(&rasterize_svg(&svg, 3)).0, long);
    }

    #[test]
    fn non_ascii_url_round_trips() {
        let url = "https://in2carts.com/ü/例え?x=🛒";
        assert_eq!(scan(&png(url, &Style::default())).0, url);
    }

    // ------------------------------------------------ geometry

    #[test]
    fn png_is_exactly_size_square_for_many_sizes_and_margins() {
        for size in [64, 65, 100, 128, 300, 511, 512, 777, 1024, 2048] {
            for margin in [0, 1, 4, 16] {
                let s = Style {
                    size,
                    margin,
                    ..Style::default()
                };
                let bytes = render(URL, &s, Format::Png).unwrap();
                assert_eq!(be32(&bytes[16..]), size, "IHDR width");
                assert_eq!(be32(&bytes[20..]), size, "IHDR height");
                let img = decode_png(&bytes);
                assert_eq!((img.w, img.h), (size as usize, size as usize));
            }
        }
    }

    fn modules_of(data: &str, ec: EcLevel) -> u32 {
        QrCode::with_error_correction_level(data, ec.to_qrcode())
            .unwrap()
            .width() as u32
    }

    #[test]
    fn the_grid_fills_the_image_with_modules_within_a_pixel_of_each_other() {
        let (mut even, mut spread) = (0, 0);
        for modules in [21, 29, 33, 37, 57, 177] {
            for margin in [0, 1, 4, 16] {
                for size in [64, 65, 100, 128, 160, 300, 511, 512, 777, 1024, 2048] {
                    let s = Style {
                        size,
                        margin,
                        ..Style::default()
                    };
                    let l = Layout::new(modules, &s);
                    let cells = modules + 2 * margin;
                    let image = size.max(cells);
                    let at = format!("{modules}/{margin}/{size}");
                    assert_eq!(l.image, image);
                    assert_eq!(l.edges.len() as u32, cells + 1);
                    assert_eq!((l.edges[0], l.edges[cells as usize]), (0, image), "{at}");
                    assert!(l.edges.windows(2).all(|w| w[1] > w[0]), "{at}: empty cell");
                    let (m, n) = (margin as usize, modules as usize);
                    let widths: Vec<u32> =
                        l.edges[m..=m + n].windows(2).map(|w| w[1] - w[0]).collect();
                    let (lo, hi) = (widths.iter().min().unwrap(), widths.iter().max().unwrap());
                    assert!(hi - lo <= 1, "{at}: modules of {lo} to {hi} px");
                    let pitch = f64::from(l.edges[m + n] - l.edges[m]) / f64::from(modules);
                    // Served sizes (at least 2 px per module): the quiet zone is
                    // within half a module less and one module more than asked.
                    if size >= smallest_size(modules, margin) {
                        for quiet in [l.edges[m], image - l.edges[m + n]] {
                            let q = f64::from(quiet) / pitch - f64::from(margin);
                            assert!(
                                (-0.5..=1.0).contains(&q),
                                "{at}: quiet zone {q:+.2} modules off"
                            );
                        }
                    }
                    if Layout::even_modules(modules, margin, image).is_some() {
                        assert_eq!(lo, hi, "{at}: even modules");
                        even += 1;
                        continue;
                    }
                    spread += 1;
                    // Otherwise any run of k cells, quiet zone included, is within a
                    // pixel of k * image / cells: the wider cells are spread, not bunched.
                    let (lo, hi) = (image / cells, image.div_ceil(cells));
                    for i in 0..=cells as usize {
                        for j in i..=cells as usize {
                            let px = i64::from(l.edges[j] - l.edges[i]) * i64::from(cells);
                            let exact = (j - i) as i64 * i64::from(image);
                            assert!(
                                (px - exact).abs() < i64::from(cells),
                                "{at}: cells {i}..{j}"
                            );
                        }
                        if i < cells as usize {
                            let px = l.edges[i + 1] - l.edges[i];
                            assert!(px == lo || px == hi, "{at}: {px}");
                        }
                    }
                }
            }
        }
        assert!(even > 20 && spread > 100, "{even} even, {spread} spread");
    }

    #[test]
    fn even_modules_when_the_leftover_fits_in_the_quiet_zone() {
        // 33 modules at 128 px: 3 px each and 14 + 15 px of quiet zone (4.67 and 5
        // modules) rather than 5 of the 41 cells a pixel wider.
        let l = Layout::even_modules(33, 4, 128).unwrap();
        assert_eq!((l.edges[4], l.edges[37]), (14, 113));
        assert!(l.edges[4..=37].windows(2).all(|w| w[1] - w[0] == 3));
        // 37 modules at 128 px: 3 px leaves 8 px (2.7 modules), 2 px leaves 27: spread.
        assert_eq!(Layout::even_modules(37, 4, 128), None);
        // 21 modules at 120 px: 5 px would leave too little quiet zone, 4 px leaves
        // 18 px (4.5 modules) each side.
        let l = Layout::even_modules(21, 4, 120).unwrap();
        assert_eq!((l.edges[4], l.edges[25]), (18, 102));
        assert!(l.edges[4..=25].windows(2).all(|w| w[1] - w[0] == 4));
        // None with margin 0, nor past 4 px per module.
        assert_eq!(Layout::even_modules(29, 0, 100), None);
        assert_eq!(Layout::even_modules(29, 4, 2048), None);
        assert_eq!(Layout::even_modules(29, 4, 185), None, "5 px per module");
    }

    /// First and last dark pixel of row `y` and of column `x`.
    fn dark_extent(img: &Grey) -> (usize, usize, usize, usize) {
        let dark = |x: usize, y: usize| img.luma[y * img.w + x] < 128;
        let rows: Vec<usize> = (0..img.h)
            .filter(|&y| (0..img.w).any(|x| dark(x, y)))
            .collect();
        let cols: Vec<usize> = (0..img.w)
            .filter(|&x| (0..img.h).any(|y| dark(x, y)))
            .collect();
        (
            cols[0],
            *cols.last().unwrap(),
            rows[0],
            *rows.last().unwrap(),
        )
    }

    #[test]
    fn png_border_is_the_quiet_zone_and_the_code_fills_the_rest() {
        for (size, ec, margin) in [
            (128, EcLevel::H, 4),
            (128, EcLevel::M, 4),
            (160, EcLevel::Q, 4),
            (200, EcLevel::L, 0),
            (256, EcLevel::H, 2),
            (333, EcLevel::M, 7),
            (512, EcLevel::M, 4),
            (1000, EcLevel::Q, 16),
        ] {
            let s = Style {
                size,
                margin,
                ec,
                ..Style::default()
            };
            let img = png(URL, &s);
            assert_eq!((img.w, img.h), (size as usize, size as usize));
            let n = modules_of(URL, ec);
            let (left, right, top, bottom) = dark_extent(&img);
            let module = (right + 1 - left) as f64 / f64::from(n);
            // The finder patterns put dark modules on all four outer edges of the code.
            for (border, side) in [
                (left, "left"),
                (top, "top"),
                (size as usize - 1 - right, "right"),
                (size as usize - 1 - bottom, "bottom"),
            ] {
                let off = border as f64 / module - f64::from(margin);
                assert!(
                    (-0.5..=1.0).contains(&off),
                    "{size}/{ec:?}/{margin}: {side} border {border} px, {off:+.2} modules off"
                );
            }
            // Every module is drawn with floor or ceil of size / cells pixels.
            let finder_px = (left..=right)
                .take_while(|&x| img.luma[top * img.w + x] < 128)
                .count();
            let (lo, hi) = ((7.0 * module).floor() - 1.0, (7.0 * module).ceil() + 1.0);
            assert!(
                (lo..=hi).contains(&(finder_px as f64)),
                "{size}/{ec:?}: finder top edge {finder_px} px for 7 modules of {module:.2}"
            );
            assert_eq!(
                scan(&img),
                (URL.to_string(), rqrr_ecc(ec)),
                "{size}/{ec:?}/{margin}"
            );
        }
    }

    #[test]
    fn margin_zero_renders_code_edge_to_edge() {
        for size in [100, 128, 301] {
            let s = Style {
                size,
                margin: 0,
                ..Style::default()
            };
            let img = png(URL, &s);
            let w = size as usize;
            assert_eq!(img.w, w);
            assert_eq!(dark_extent(&img), (0, w - 1, 0, w - 1), "size {size}");
            assert_eq!(img.luma[0], 0, "top-left pixel is the finder pattern");
        }
    }

    #[test]
    fn fixed_scale_layout_is_the_previous_geometry() {
        // At 128 px and EC H a 37-module code got 2 px per module and 27 px of
        // extra border; the current layout gives it 2.84 px per module.
        let s = style(128, EcLevel::H);
        assert_eq!(modules_of(URL, EcLevel::H), 37);
        let old = decode_png(&render_png_fixed_scale(URL, &s).unwrap());
        assert_eq!((old.w, old.h), (128, 128));
        let (left, right, top, bottom) = dark_extent(&old);
        assert_eq!((left, right - left + 1), (27, 74));
        assert_eq!((top, bottom - top + 1), (27, 74));
        assert_eq!(scan(&upscale(&old, 2)).0, URL);
        let new = png(URL, &s);
        let (left, right, _, _) = dark_extent(&new);
        assert_eq!((left, right - left + 1), (11, 105));
        // Where the size divides evenly, both layouts agree to the byte.
        let even = style(45 * 5, EcLevel::H);
        assert_eq!(
            render_png_fixed_scale(URL, &even).unwrap(),
            render(URL, &even, Format::Png).unwrap()
        );
    }

    // ------------------------------------------------ smallest size

    #[test]
    fn module_count_is_the_drawn_codes_width() {
        let long = format!("https://in2carts.com/c/{}", "a1B2c3D4e5".repeat(28));
        for data in [
            "",
            "1",
            URL,
            "HTTPS://IN2CARTS.COM/ABC",
            "0123456789",
            long.as_str(),
        ] {
            for ec in ALL_EC {
                assert_eq!(
                    module_count(data, ec),
                    Ok(modules_of(data, ec)),
                    "{data:?} {ec:?}"
                );
            }
        }
        assert_eq!(module_count("", EcLevel::L), Ok(21));
        assert_eq!(module_count(&"9".repeat(7089), EcLevel::L), Ok(177));
        assert_eq!(
            module_count(&"9".repeat(7090), EcLevel::L),
            Err(RenderError::DataTooLong)
        );
        assert_eq!(
            module_count(&"x".repeat(5000), EcLevel::L),
            Err(RenderError::DataTooLong)
        );
    }

    #[test]
    fn smallest_size_gives_two_pixels_per_cell() {
        assert_eq!(smallest_size(37, 4), 90);
        assert_eq!(smallest_size(29, 4), 74);
        assert_eq!(smallest_size(21, 0), MIN_SIZE, "never below MIN_SIZE");
        assert_eq!(smallest_size(177, 16), 418);
        assert_eq!(
            smallest_size(177, u32::MAX),
            418,
            "margin clamps as in render"
        );
        for (modules, margin) in [(21, 4), (37, 4), (57, 16), (177, 0)] {
            let least = smallest_size(modules, margin);
            for size in [least, least + 1, 2 * least] {
                let l = Layout::new(
                    modules,
                    &Style {
                        size,
                        margin,
                        ..Style::default()
                    },
                );
                let narrowest = l.edges.windows(2).map(|w| w[1] - w[0]).min();
                assert!(
                    narrowest >= Some(MIN_MODULE_PX),
                    "{modules}/{margin}/{size}"
                );
            }
            if least > MIN_SIZE {
                let l = Layout::new(
                    modules,
                    &Style {
                        size: least - 1,
                        margin,
                        ..Style::default()
                    },
                );
                let narrowest = l.edges.windows(2).map(|w| w[1] - w[0]).min();
                assert_eq!(narrowest, Some(1), "{modules}/{margin}: one pixel less");
            }
        }
    }

    #[test]
    fn size_problem_names_the_smallest_size_that_works() {
        let s = |size, ec, margin| Style {
            size,
            ec,
            margin,
            ..Style::default()
        };
        let p = size_problem(URL, &s(64, EcLevel::H, 4)).unwrap();
        assert_eq!(p.key, "size");
        assert_eq!(
            p.message,
            "size 64 leaves this QR code under 2 pixels per module (37 modules at ec H, plus 4 of \
             quiet zone on each side): use size 90 or more, or a lower ec or margin"
        );
        assert_eq!(
            size_problem(URL, &s(89, EcLevel::H, 4)).unwrap().key,
            "size"
        );
        assert_eq!(size_problem(URL, &s(90, EcLevel::H, 4)), None);
        assert!(size_problem(URL, &s(73, EcLevel::H, 0))
            .unwrap()
            .message
            .contains("use size 74 or more"));
        assert_eq!(size_problem(URL, &s(74, EcLevel::H, 0)), None);
        assert_eq!(size_problem(URL, &s(74, EcLevel::M, 4)), None);
        assert!(size_problem(URL, &s(73, EcLevel::M, 4)).is_some());
        assert!(size_problem(URL, &s(121, EcLevel::M, 16))
            .unwrap()
            .message
            .contains("use size 122 or more"));
        assert_eq!(size_problem(URL, &Style::default()), None);
        // Data that no QR code holds is render's error, not a size problem.
        assert_eq!(size_problem(&"x".repeat(5000), &s(64, EcLevel::H, 4)), None);
        // A long URL needs more room.
        let long = format!("https://in2carts.com/c/{}", "a1B2c3D4e5".repeat(28));
        let n = modules_of(&long, EcLevel::M);
        let p = size_problem(&long, &s(128, EcLevel::M, 4)).unwrap();
        assert!(
            p.message
                .contains(&format!("use size {} or more", 2 * (n + 8))),
            "{}",
            p.message
        );
        // Every style that passes renders with at least 2 px per module.
        for ec in ALL_EC {
            for margin in [0, 4, 16] {
                let least = smallest_size(modules_of(URL, ec), margin);
                let st = s(least, ec, margin);
                assert_eq!(size_problem(URL, &st), None);
                let l = Layout::new(modules_of(URL, ec), &st);
                assert!(l.edges.windows(2).all(|w| w[1] - w[0] >= MIN_MODULE_PX));
            }
        }
    }

    #[test]
    fn render_clamps_out_of_range_styles_instead_of_failing() {
        for (size, margin) in [(0, 0), (1, u32::MAX), (u32::MAX, 4), (10_000, 100)] {
            let s = Style {
                size,
                margin,
                ..Style::default()
            };
            let img = png(URL, &s);
            let clamped = size.clamp(MIN_SIZE, MAX_SIZE) as usize;
            assert!(
                img.w >= clamped && img.w == img.h,
                "{size}/{margin}: {}",
                img.w
            );
            assert!(render(URL, &s, Format::Svg).is_ok());
        }
    }

    // ------------------------------------------------ failures and odd data

    #[test]
    fn data_too_long_is_the_only_error() {
        let huge = "x".repeat(5000);
        assert_eq!(
            render(&huge, &Style::default(), Format::Png),
            Err(RenderError::DataTooLong)
        );
        assert_eq!(
            render(&huge, &Style::default(), Format::Svg),
            Err(RenderError::DataTooLong)
        );
        let megabyte = "9".repeat(1 << 20);
        assert_eq!(
            render(&megabyte, &Style::default(), Format::Png),
            Err(RenderError::DataTooLong)
        );
        // ~2900 bytes fit at L but not at H.
        let big = format!("https://in2carts.com/{}", "Ab".repeat(1400));
        assert!(render(&big, &style(512, EcLevel::L), Format::Png).is_ok());
        assert_eq!(
            render(&big, &style(512, EcLevel::H), Format::Png),
            Err(RenderError::DataTooLong)
        );
        assert!(RenderError::DataTooLong.to_string().contains("too long"));
    }

    #[test]
    fn empty_and_control_data_render() {
        for data in ["", "\0", "\u{7f}\r\n<>&\"'"] {
            assert!(render(data, &Style::default(), Format::Png).is_ok());
            let svg = render(data, &Style::default(), Format::Svg).unwrap();
            assert!(
                !String::from_utf8(svg).unwrap().contains('&'),
                "data never reaches the SVG"
            );
        }
    }

    // ------------------------------------------------ CRC, sizes

    #[test]
    fn crc32_known_values() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        let bytes = render(URL, &Style::default(), Format::Png).unwrap();
        assert_eq!(
            bytes[bytes.len() - 12..],
            [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]
        );
    }

    #[test]
    fn png_files_are_tiny() {
        let plain = render(URL, &Style::default(), Format::Png).unwrap();
        let coloured = render(
            URL,
            &Style {
                fg: Rgb(0x1a, 0x23, 0x7e),
                bg: Rgb(0xff, 0xfd, 0xe7),
                ..Style::default()
            },
            Format::Png,
        )
        .unwrap();
        assert_eq!(coloured.len(), plain.len(), "only the palette differs");
        let diff: Vec<usize> = (0..plain.len())
            .filter(|&i| plain[i] != coloured[i])
            .collect();
        assert!(
            diff.iter().all(|&i| (41..51).contains(&i)),
            "PLTE data and CRC: {diff:?}"
        );
        assert!(plain.len() < 1500, "{} bytes at 512 px", plain.len());
        let large = render(URL, &style(2048, EcLevel::M), Format::Png).unwrap();
        assert!(large.len() < 16 * 1024, "{} bytes at 2048 px", large.len());
    }

    // ------------------------------------------------ etag, content type

    #[test]
    fn etag_is_stable_and_distinguishes_every_input() {
        let base = Style::default();
        let e = etag(URL, &base, Format::Png);
        assert_eq!(e, etag(URL, &base.clone(), Format::Png));
        assert_eq!(e.len(), 2 + 3 + 16);
        assert!(e.starts_with("\"q2-") && e.ends_with('"'));
        assert!(e[4..20]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));

        let variants = [
            etag(URL, &base, Format::Svg),
            etag("https://in2carts.com/abc1235?q=01HZX", &base, Format::Png),
            etag(
                URL,
                &Style {
                    size: 513,
                    ..base.clone()
                },
                Format::Png,
            ),
            etag(
                URL,
                &Style {
                    margin: 3,
                    ..base.clone()
                },
                Format::Png,
            ),
            etag(
                URL,
                &Style {
                    ec: EcLevel::H,
                    ..base.clone()
                },
                Format::Png,
            ),
            etag(
                URL,
                &Style {
                    fg: Rgb(0, 0, 1),
                    ..base.clone()
                },
                Format::Png,
            ),
            etag(
                URL,
                &Style {
                    bg: Rgb(0xff, 0xff, 0xfe),
                    ..base.clone()
                },
                Format::Png,
            ),
            etag("", &base, Format::Png),
        ];
        let mut all = vec![e.clone()];
        all.extend(variants);
        let mut dedup = all.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), all.len(), "{all:?}");
        // Pinned value: changing the serialisation must bump RENDERER_VERSION.
        assert_eq!(e, etag(URL, &Style::default(), Format::Png));
    }

    #[test]
    fn etag_value_is_pinned() {
        // sha256("q2\npng\n512\n4\nM\n#000000\n#ffffff\n" + URL), first 8 bytes.
        let mut h = Sha256::new();
        h.update(format!("q2\npng\n512\n4\nM\n#000000\n#ffffff\n{URL}").as_bytes());
        let d = h.finalize();
        let hex: String = d.iter().take(8).map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            etag(URL, &Style::default(), Format::Png),
            format!("\"q2-{hex}\"")
        );
    }

    #[test]
    fn content_types_and_format_parse() {
        assert_eq!(content_type(Format::Png), "image/png");
        assert_eq!(content_type(Format::Svg), "image/svg+xml");
        assert_eq!(Format::parse("PNG"), Some(Format::Png));
        assert_eq!(Format::parse("svg"), Some(Format::Svg));
        assert_eq!(Format::parse("gif"), None);
        assert_eq!(Format::Svg.as_str(), "svg");
    }

    // ------------------------------------------------ parsing

    #[test]
    fn rgb_parse_hex_forms() {
        assert_eq!(Rgb::parse_hex("000000"), Some(Rgb(0, 0, 0)));
        assert_eq!(Rgb::parse_hex("#000000"), Some(Rgb(0, 0, 0)));
        assert_eq!(Rgb::parse_hex("000"), Some(Rgb(0, 0, 0)));
        assert_eq!(Rgb::parse_hex("#fff"), Some(Rgb(255, 255, 255)));
        assert_eq!(Rgb::parse_hex("#FfF"), Some(Rgb(255, 255, 255)));
        assert_eq!(Rgb::parse_hex("#1A237e"), Some(Rgb(0x1a, 0x23, 0x7e)));
        assert_eq!(Rgb::parse_hex("#abc"), Some(Rgb(0xaa, 0xbb, 0xcc)));
        for bad in [
            "",
            "#",
            "zzz",
            "#zzz",
            "12345",
            "1234567",
            "##fff",
            " fff",
            "fff ",
            "#ff ff",
            "+12",
            "ééé",
            "#éé",
            "#ffffff80",
            "red",
            "0x123",
        ] {
            assert_eq!(Rgb::parse_hex(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rgb_to_hex_is_lowercase_and_round_trips() {
        assert_eq!(Rgb(0x1a, 0x23, 0x7e).to_hex(), "#1a237e");
        assert_eq!(Rgb(0xAB, 0xCD, 0xEF).to_hex(), "#abcdef");
        assert_eq!(Rgb(0, 0, 0).to_hex(), "#000000");
        for c in [Rgb(1, 2, 3), Rgb(255, 0, 128)] {
            assert_eq!(Rgb::parse_hex(&c.to_hex()), Some(c));
        }
    }

    #[test]
    fn ec_level_parse_and_char() {
        for (s, ec) in [
            ("L", EcLevel::L),
            ("m", EcLevel::M),
            ("q", EcLevel::Q),
            ("H", EcLevel::H),
        ] {
            assert_eq!(EcLevel::parse(s), Some(ec));
            assert_eq!(EcLevel::parse(&ec.as_char().to_string()), Some(ec));
        }
        assert_eq!(EcLevel::M.as_char(), 'M');
        for bad in ["", "X", "LL", " l", "low", "ℓ"] {
            assert_eq!(EcLevel::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn contrast_ratio_values() {
        assert!((contrast_ratio(Rgb::BLACK, Rgb::WHITE) - 21.0).abs() < 1e-9);
        assert!((contrast_ratio(Rgb::WHITE, Rgb::BLACK) - 21.0).abs() < 1e-9);
        assert!((contrast_ratio(Rgb(0x77, 0x77, 0x77), Rgb(0x77, 0x77, 0x77)) - 1.0).abs() < 1e-9);
        // Known WCAG value: #767676 on white is 4.54:1.
        let r = contrast_ratio(Rgb(0x76, 0x76, 0x76), Rgb::WHITE);
        assert!((r - 4.54).abs() < 0.01, "{r}");
        // #1a237e on #fffde7 is high contrast.
        assert!(contrast_ratio(Rgb(0x1a, 0x23, 0x7e), Rgb(0xff, 0xfd, 0xe7)) > 12.0);
    }

    // ------------------------------------------------ validation

    fn keys(problems: &[StyleProblem]) -> Vec<&'static str> {
        problems.iter().map(|p| p.key).collect()
    }

    fn opts(
        size: Option<&str>,
        margin: Option<&str>,
        ec: Option<&str>,
        fg: Option<&str>,
        bg: Option<&str>,
    ) -> Result<Style, Vec<StyleProblem>> {
        style_from_options(&Style::default(), size, margin, ec, fg, bg)
    }

    #[test]
    fn default_style_is_valid_and_as_documented() {
        let d = Style::default();
        assert_eq!(
            d,
            Style {
                size: 512,
                margin: 4,
                ec: EcLevel::M,
                fg: Rgb(0, 0, 0),
                bg: Rgb(255, 255, 255)
            }
        );
        assert!(validate_style(&d).is_empty());
        assert_eq!(opts(None, None, None, None, None), Ok(d));
    }

    #[test]
    fn options_apply_overrides() {
        let s = opts(
            Some("1024"),
            Some("0"),
            Some("h"),
            Some("1a237e"),
            Some("#FFFDE7"),
        )
        .unwrap();
        assert_eq!(
            s,
            Style {
                size: 1024,
                margin: 0,
                ec: EcLevel::H,
                fg: Rgb(0x1a, 0x23, 0x7e),
                bg: Rgb(0xff, 0xfd, 0xe7)
            }
        );
        assert_eq!(
            opts(Some("64"), Some("16"), None, None, None).map(|s| (s.size, s.margin)),
            Ok((64, 16))
        );
        assert_eq!(
            opts(Some("2048"), None, None, None, None).map(|s| s.size),
            Ok(2048)
        );
    }

    #[test]
    fn size_out_of_range_or_malformed() {
        let p = opts(Some("10"), None, None, None, None).unwrap_err();
        assert_eq!(keys(&p), ["size"]);
        assert_eq!(
            p[0].message,
            "size must be a whole number of pixels from 64 to 2048 (got 10)"
        );
        for bad in [
            "63",
            "2049",
            "99999999999",
            "-1",
            "+512",
            " 512",
            "5.5",
            "",
            "abc",
            "1e3",
        ] {
            let p = opts(Some(bad), None, None, None, None).unwrap_err();
            assert_eq!(keys(&p), ["size"], "{bad:?}");
            assert!(p[0].message.starts_with("size must be"));
        }
    }

    #[test]
    fn margin_bounds() {
        assert!(opts(None, Some("0"), None, None, None).is_ok());
        let p = opts(None, Some("17"), None, None, None).unwrap_err();
        assert_eq!(keys(&p), ["margin"]);
        assert!(p[0].message.contains("0 to 16") && p[0].message.contains("(got 17)"));
        assert_eq!(
            keys(&opts(None, Some("x"), None, None, None).unwrap_err()),
            ["margin"]
        );
    }

    #[test]
    fn ec_must_be_a_level_letter() {
        let p = opts(None, None, Some("X"), None, None).unwrap_err();
        assert_eq!(
            p,
            [StyleProblem {
                key: "ec",
                message: "ec must be one of L, M, Q, H".into()
            }]
        );
    }

    #[test]
    fn unparsable_colour_refused() {
        let p = opts(None, None, None, Some("zzz"), None).unwrap_err();
        assert_eq!(
            p,
            [StyleProblem {
                key: "fg",
                message: colour_message("fg")
            }]
        );
        let p = opts(None, None, None, None, Some("#12")).unwrap_err();
        assert_eq!(keys(&p), ["bg"]);
        assert_eq!(
            p[0].message,
            "bg must be a hex colour such as #1a237e or #fff"
        );
        // A bad bg does not also produce a contrast complaint on fg.
        let p = opts(None, None, None, Some("#fff"), Some("nope")).unwrap_err();
        assert_eq!(keys(&p), ["bg"]);
    }

    #[test]
    fn equal_colours_refused_on_fg() {
        let p = opts(None, None, None, Some("#336699"), Some("336699")).unwrap_err();
        assert_eq!(keys(&p), ["fg"]);
        assert!(p[0].message.contains("1.00:1"), "{}", p[0].message);
        assert!(
            !p[0].message.contains("darker"),
            "same luminance is not inverted"
        );
    }

    #[test]
    fn light_on_dark_refused_even_with_high_contrast() {
        let p = opts(None, None, None, Some("#fff"), Some("#000")).unwrap_err();
        assert_eq!(keys(&p), ["fg"]);
        assert_eq!(
            p[0].message,
            "fg #ffffff must be darker than bg #000000: light-on-dark codes do not scan on many phone readers"
        );
        // Inverted and low contrast: one problem naming both.
        let p = opts(None, None, None, Some("#999"), Some("#777")).unwrap_err();
        assert_eq!(keys(&p), ["fg"]);
        assert!(p[0].message.contains("darker") && p[0].message.contains("contrast"));
    }

    #[test]
    fn contrast_threshold_is_three_to_one() {
        // #949494 on white ≈ 3.03:1 (allowed); #959595 ≈ 2.99:1 (refused).
        assert!(contrast_ratio(Rgb(0x94, 0x94, 0x94), Rgb::WHITE) >= 3.0);
        assert!(contrast_ratio(Rgb(0x95, 0x95, 0x95), Rgb::WHITE) < 3.0);
        assert!(opts(None, None, None, Some("949494"), None).is_ok());
        let p = opts(None, None, None, Some("959595"), None).unwrap_err();
        assert_eq!(keys(&p), ["fg"]);
        assert!(
            p[0].message.contains("2.99:1") && p[0].message.contains("3:1"),
            "{}",
            p[0].message
        );
        // Light pastel on white.
        assert!(opts(None, None, None, Some("#ffd1dc"), None).is_err());
    }

    #[test]
    fn all_problems_reported_at_once_in_key_order() {
        let p = opts(Some("1"), Some("99"), Some("Z"), Some("bag"), Some("worse")).unwrap_err();
        assert_eq!(keys(&p), ["size", "margin", "ec", "fg", "bg"]);
        let p = opts(Some("big"), None, None, Some("#eee"), None).unwrap_err();
        assert_eq!(keys(&p), ["size", "fg"]);
    }

    #[test]
    fn validate_style_checks_a_whole_style() {
        let s = Style {
            size: 5000,
            margin: 20,
            fg: Rgb::WHITE,
            bg: Rgb::WHITE,
            ..Style::default()
        };
        let p = validate_style(&s);
        assert_eq!(keys(&p), ["size", "margin", "fg"]);
        assert!(p[0].message.contains("(got 5000)"));
        // Problems in the base style surface through style_from_options too.
        let p = style_from_options(&s, Some("512"), None, None, None, None).unwrap_err();
        assert_eq!(keys(&p), ["margin", "fg"]);
    }
}
