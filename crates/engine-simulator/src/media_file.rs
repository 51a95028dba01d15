//! [`MediaFile`]: the bytes, mime type and file name of a media message, read from disk
//! or generated as a small valid sample of each kind (JPEG image, MP4 container, MP3
//! and Ogg/Opus audio, PDF document, WebP sticker).
//!
//! The samples are built here byte by byte so they are valid files a real consumer can
//! open: the JPEG and WebP are 1×1 pictures, the PDF has one page saying "Engine
//! simulator sample", the Ogg/Opus voice note is one second of silence (pages with
//! correct CRCs), the MP3 one second of silent MPEG-1 Layer III frames, and the MP4 an
//! ISO base media file (`ftyp` + `moov`) without tracks.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use ryze_ports::whatsapp_events::MediaKind;

/// The standard base64 engine of the contract (with padding, no `data:` prefix).
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes standard base64 (padding required).
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    base64::engine::general_purpose::STANDARD.decode(text)
}

/// A file to send as a media message. `Debug` shows its size, not its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct MediaFile {
    pub bytes: Vec<u8>,
    /// e.g. `image/jpeg`, `audio/ogg; codecs=opus`.
    pub mimetype: String,
    /// Documents' file name (other kinds usually have none).
    pub file_name: Option<String>,
}

impl fmt::Debug for MediaFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaFile")
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .field("mimetype", &self.mimetype)
            .field("file_name", &self.file_name)
            .finish()
    }
}

impl MediaFile {
    pub fn new(bytes: impl Into<Vec<u8>>, mimetype: impl Into<String>) -> Self {
        Self {
            bytes: bytes.into(),
            mimetype: mimetype.into(),
            file_name: None,
        }
    }

    pub fn with_file_name(mut self, file_name: impl Into<String>) -> Self {
        self.file_name = Some(file_name.into());
        self
    }

    /// Reads a file; the mime type comes from its first bytes, else its extension, else
    /// `application/octet-stream`. The file name is kept.
    pub fn from_path(path: &Path) -> std::io::Result<Self> {
        let bytes = std::fs::read(path)?;
        let mimetype = sniff_mimetype(&bytes)
            .or_else(|| {
                path.extension()
                    .and_then(|extension| extension.to_str())
                    .and_then(mimetype_of_extension)
            })
            .unwrap_or("application/octet-stream")
            .to_owned();
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned());
        Ok(Self {
            bytes,
            mimetype,
            file_name,
        })
    }

    /// The bytes in standard base64.
    pub fn base64(&self) -> String {
        encode_base64(&self.bytes)
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        u64::try_from(self.bytes.len()).unwrap_or(u64::MAX)
    }

    /// A small valid file for a media kind: JPEG for images, MP4 for videos and video
    /// notes, MP3 for audio files, Ogg/Opus for voice notes, PDF for documents, WebP for
    /// stickers.
    pub fn sample_for(kind: MediaKind) -> Self {
        match kind {
            MediaKind::Image => Self::sample_jpeg(),
            MediaKind::Video | MediaKind::Ptv => Self::sample_mp4(),
            MediaKind::Audio => Self::sample_mp3(),
            MediaKind::Ptt => Self::sample_ogg_opus(),
            MediaKind::Document => Self::sample_pdf(),
            MediaKind::Sticker => Self::sample_webp(),
        }
    }

    /// A 1×1 grey baseline JPEG (159 bytes).
    pub fn sample_jpeg() -> Self {
        Self::new(sample_jpeg_bytes(), "image/jpeg").with_file_name("sample.jpg")
    }

    /// A 1×1 lossy WebP picture, what WhatsApp stickers are.
    pub fn sample_webp() -> Self {
        Self::new(sample_webp_bytes(), "image/webp").with_file_name("sample.webp")
    }

    /// A one-page PDF saying "Engine simulator sample".
    pub fn sample_pdf() -> Self {
        Self::new(
            sample_pdf_bytes("Engine simulator sample"),
            "application/pdf",
        )
        .with_file_name("sample.pdf")
    }

    /// One second of silence as an Ogg/Opus voice note.
    pub fn sample_ogg_opus() -> Self {
        Self::new(sample_ogg_opus_bytes(), "audio/ogg; codecs=opus").with_file_name("sample.ogg")
    }

    /// One second of silence as MPEG-1 Layer III.
    pub fn sample_mp3() -> Self {
        Self::new(sample_mp3_bytes(), "audio/mpeg").with_file_name("sample.mp3")
    }

    /// An MP4 (ISO base media) file without tracks.
    pub fn sample_mp4() -> Self {
        Self::new(sample_mp4_bytes(), "video/mp4").with_file_name("sample.mp4")
    }
}

/// The mime type announced by a file's first bytes, for the formats WhatsApp carries.
pub fn sniff_mimetype(bytes: &[u8]) -> Option<&'static str> {
    let starts = |prefix: &[u8]| bytes.starts_with(prefix);
    let riff_of = |form: &[u8]| starts(b"RIFF") && bytes.get(8..12) == Some(form);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if riff_of(b"WEBP") {
        Some("image/webp")
    } else if riff_of(b"WAVE") {
        Some("audio/wav")
    } else if starts(b"%PDF-") {
        Some("application/pdf")
    } else if starts(b"OggS") {
        let opus = bytes
            .windows(8)
            .take(64)
            .any(|window| window == b"OpusHead");
        Some(if opus {
            "audio/ogg; codecs=opus"
        } else {
            "audio/ogg"
        })
    } else if starts(b"ID3") || (bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0) {
        Some("audio/mpeg")
    } else if bytes.get(4..8) == Some(b"ftyp") {
        Some("video/mp4")
    } else {
        None
    }
}

/// The mime type usually meant by a file extension.
pub fn mimetype_of_extension(extension: &str) -> Option<&'static str> {
    Some(match extension.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp4" | "m4v" => "video/mp4",
        "3gp" => "video/3gpp",
        "mp3" => "audio/mpeg",
        "ogg" | "opus" => "audio/ogg; codecs=opus",
        "m4a" | "aac" => "audio/aac",
        "wav" => "audio/wav",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "zip" => "application/zip",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => return None,
    })
}

/// The contract's own 1×1 JPEG (docs/engine-contract.md, the image example).
const SAMPLE_JPEG_BASE64: &str = "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wAALCAABAAEBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAAA//EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AN//Z";

/// The contract's own 1×1 WebP (docs/engine-contract.md, the sticker example).
const SAMPLE_WEBP_BASE64: &str = "UklGRiQAAABXRUJQVlA4IBgAAAAwAQCdASoBAAEAAwA0JaQAA3AA/vuUAAA=";

fn sample_jpeg_bytes() -> Vec<u8> {
    decode_base64(SAMPLE_JPEG_BASE64).unwrap_or_default()
}

fn sample_webp_bytes() -> Vec<u8> {
    decode_base64(SAMPLE_WEBP_BASE64).unwrap_or_default()
}

/// A one-page PDF 1.4 showing `text` in Helvetica, with a correct cross-reference table.
fn sample_pdf_bytes(text: &str) -> Vec<u8> {
    let escaped: String = text
        .chars()
        .filter(char::is_ascii)
        .flat_map(|character| match character {
            '(' | ')' | '\\' => vec!['\\', character],
            other => vec![other],
        })
        .collect();
    let stream = format!("BT /F1 18 Tf 20 40 Td ({escaped}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = String::from("%PDF-1.4\n");
    let mut offsets = Vec::with_capacity(objects.len());
    for (index, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.push_str(&format!("{} 0 obj\n{object}\nendobj\n", index + 1));
    }
    let xref_at = pdf.len();
    pdf.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for offset in offsets {
        pdf.push_str(&format!("{offset:010} 00000 n \n"));
    }
    pdf.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n",
        objects.len() + 1
    ));
    pdf.into_bytes()
}

/// Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected, initial value 0).
fn ogg_crc(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |crc, &byte| {
        let mut crc = crc ^ (u32::from(byte) << 24);
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
        crc
    })
}

/// One Ogg page holding `packets` (each under 255 bytes), CRC filled in.
fn ogg_page(header_type: u8, granule: u64, sequence: u32, packets: &[&[u8]]) -> Vec<u8> {
    const SERIAL: u32 = 0x5349_4D55;
    let mut page = Vec::new();
    page.extend_from_slice(b"OggS");
    page.push(0);
    page.push(header_type);
    page.extend_from_slice(&granule.to_le_bytes());
    page.extend_from_slice(&SERIAL.to_le_bytes());
    page.extend_from_slice(&sequence.to_le_bytes());
    page.extend_from_slice(&[0; 4]);
    page.push(u8::try_from(packets.len()).unwrap_or(u8::MAX));
    for packet in packets {
        page.push(u8::try_from(packet.len()).unwrap_or(u8::MAX));
    }
    for packet in packets {
        page.extend_from_slice(packet);
    }
    let crc = ogg_crc(&page);
    page[22..26].copy_from_slice(&crc.to_le_bytes());
    page
}

/// One second of silence in Ogg/Opus: the `OpusHead` and `OpusTags` pages, then 50
/// packets of 20 ms (CELT, fullband, mono) with empty frames, which decoders play as
/// silence.
fn sample_ogg_opus_bytes() -> Vec<u8> {
    const PRE_SKIP: u16 = 312;
    const PACKETS: u64 = 50;
    const SAMPLES_PER_PACKET: u64 = 960;
    let mut head = Vec::new();
    head.extend_from_slice(b"OpusHead");
    head.push(1); // version
    head.push(1); // channels
    head.extend_from_slice(&PRE_SKIP.to_le_bytes());
    head.extend_from_slice(&48_000u32.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes()); // output gain
    head.push(0); // channel mapping family
    let vendor = b"engine-simulator";
    let mut tags = Vec::new();
    tags.extend_from_slice(b"OpusTags");
    tags.extend_from_slice(&u32::try_from(vendor.len()).unwrap_or(0).to_le_bytes());
    tags.extend_from_slice(vendor);
    tags.extend_from_slice(&0u32.to_le_bytes());
    let silence: &[u8] = &[0xF8];
    let audio: Vec<&[u8]> = (0..PACKETS).map(|_| silence).collect();
    let mut file = ogg_page(0x02, 0, 0, &[&head]);
    file.extend(ogg_page(0x00, 0, 1, &[&tags]));
    file.extend(ogg_page(
        0x04,
        u64::from(PRE_SKIP) + PACKETS * SAMPLES_PER_PACKET,
        2,
        &audio,
    ));
    file
}

/// One second of silence as MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, mono): each
/// frame a header and zeroed side information and data.
fn sample_mp3_bytes() -> Vec<u8> {
    const FRAME_BYTES: usize = 417; // 144 * 128000 / 44100, no padding
    const FRAMES: usize = 39; // 39 * 1152 samples ≈ 1.02 s
    let mut frame = vec![0u8; FRAME_BYTES];
    frame[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0xC0]);
    frame.repeat(FRAMES)
}

/// An ISO base media file: `ftyp` (isom) and a `moov` holding only its `mvhd`.
fn sample_mp4_bytes() -> Vec<u8> {
    fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let size = u32::try_from(payload.len() + 8).unwrap_or(u32::MAX);
        let mut bytes = size.to_be_bytes().to_vec();
        bytes.extend_from_slice(kind);
        bytes.extend_from_slice(payload);
        bytes
    }
    let mut ftyp = Vec::new();
    ftyp.extend_from_slice(b"isom");
    ftyp.extend_from_slice(&0x200u32.to_be_bytes());
    ftyp.extend_from_slice(b"isommp41");
    let mut mvhd = vec![0u8; 4]; // version 0, flags
    mvhd.extend_from_slice(&0u32.to_be_bytes()); // creation time
    mvhd.extend_from_slice(&0u32.to_be_bytes()); // modification time
    mvhd.extend_from_slice(&1000u32.to_be_bytes()); // timescale
    mvhd.extend_from_slice(&0u32.to_be_bytes()); // duration
    mvhd.extend_from_slice(&0x0001_0000u32.to_be_bytes()); // rate 1.0
    mvhd.extend_from_slice(&0x0100u16.to_be_bytes()); // volume 1.0
    mvhd.extend_from_slice(&[0; 10]); // reserved
    for value in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        mvhd.extend_from_slice(&value.to_be_bytes()); // unity matrix
    }
    mvhd.extend_from_slice(&[0; 24]); // pre-defined
    mvhd.extend_from_slice(&1u32.to_be_bytes()); // next track id
    let mut file = mp4_box(b"ftyp", &ftyp);
    file.extend(mp4_box(b"moov", &mp4_box(b"mvhd", &mvhd)));
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_is_recognised_as_what_it_claims_to_be() {
        for kind in MediaKind::ALL {
            let sample = MediaFile::sample_for(kind);
            assert!(!sample.bytes.is_empty(), "{kind:?}");
            assert_eq!(
                sniff_mimetype(&sample.bytes),
                Some(sample.mimetype.as_str()),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn the_pdf_cross_reference_points_at_its_objects() {
        let pdf = String::from_utf8(sample_pdf_bytes("Hi (there)")).unwrap();
        let xref_at: usize = pdf
            .rsplit("startxref\n")
            .next()
            .and_then(|tail| tail.lines().next())
            .unwrap()
            .parse()
            .unwrap();
        assert!(pdf[xref_at..].starts_with("xref\n0 6\n"));
        for (number, line) in pdf[xref_at..].lines().skip(3).take(5).enumerate() {
            let offset: usize = line[..10].parse().unwrap();
            assert!(
                pdf[offset..].starts_with(&format!("{} 0 obj", number + 1)),
                "object {} is not at {offset}",
                number + 1
            );
        }
        assert!(pdf.contains("(Hi \\(there\\)) Tj"));
    }

    #[test]
    fn ogg_pages_carry_a_crc_a_reader_can_verify() {
        let ogg = sample_ogg_opus_bytes();
        let mut at = 0;
        let mut pages = 0;
        while at < ogg.len() {
            assert_eq!(&ogg[at..at + 4], b"OggS");
            let segments = usize::from(ogg[at + 26]);
            let body: usize = ogg[at + 27..at + 27 + segments]
                .iter()
                .map(|&lacing| usize::from(lacing))
                .sum();
            let end = at + 27 + segments + body;
            let mut page = ogg[at..end].to_vec();
            let stored = u32::from_le_bytes(page[22..26].try_into().unwrap());
            page[22..26].copy_from_slice(&[0; 4]);
            assert_eq!(ogg_crc(&page), stored, "page {pages}");
            at = end;
            pages += 1;
        }
        assert_eq!(pages, 3);
        // The catalogue check value of this CRC (CRC-32/POSIX without the final xor).
        assert_eq!(ogg_crc(b"123456789"), 0x89A1_897F);
    }

    #[test]
    fn files_read_from_disk_keep_their_name_and_are_sniffed() {
        let dir = std::env::temp_dir().join(format!("engine-sim-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("nota.bin");
        std::fs::write(&path, sample_pdf_bytes("x")).unwrap();
        let file = MediaFile::from_path(&path).unwrap();
        assert_eq!(file.mimetype, "application/pdf");
        assert_eq!(file.file_name.as_deref(), Some("nota.bin"));
        let text = dir.join("notes.txt");
        std::fs::write(&text, "hello").unwrap();
        assert_eq!(MediaFile::from_path(&text).unwrap().mimetype, "text/plain");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn debug_shows_the_size_not_the_bytes() {
        let shown = format!("{:?}", MediaFile::new(vec![7u8; 300], "image/png"));
        assert!(shown.contains("<300 bytes>"), "{shown}");
        assert!(!shown.contains("7, 7"), "{shown}");
    }
}
