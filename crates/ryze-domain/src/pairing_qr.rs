//! The QR code agents scan to pair an instance: WhatsApp's raw pairing string rendered
//! as a PNG image (black modules on white, a quiet zone of four modules around, each
//! module a square of pixels), small enough to post as a Chatwoot attachment.

use std::io::Write as _;

use qrcode::{Color, QrCode};

use crate::InvalidValue;

/// Pixels per module side.
const MODULE_PIXELS: usize = 8;
/// Light modules around the code, as the QR standard asks.
const QUIET_ZONE_MODULES: usize = 4;
const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// The PNG of the QR code holding `pairing_code`; refused when it is empty or too long
/// for a QR code.
pub fn pairing_qr_png(pairing_code: &str) -> Result<Vec<u8>, InvalidValue> {
    if pairing_code.trim().is_empty() {
        return Err(InvalidValue::new("the pairing code is empty"));
    }
    let code = QrCode::new(pairing_code.as_bytes())
        .map_err(|error| InvalidValue::new(format!("no QR code holds it: {error}")))?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE_MODULES) * MODULE_PIXELS;
    // One filter byte (0: none) then one grayscale byte per pixel, per row.
    let mut raw = Vec::with_capacity(side * (side + 1));
    for row in 0..side {
        raw.push(0);
        let module_row = (row / MODULE_PIXELS).checked_sub(QUIET_ZONE_MODULES);
        for column in 0..side {
            let module_column = (column / MODULE_PIXELS).checked_sub(QUIET_ZONE_MODULES);
            let dark = match (module_row, module_column) {
                (Some(y), Some(x)) if y < modules && x < modules => {
                    colors[y * modules + x] == Color::Dark
                }
                _ => false,
            };
            raw.push(if dark { 0x00 } else { 0xFF });
        }
    }
    let mut compressor = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    compressor
        .write_all(&raw)
        .map_err(|error| InvalidValue::new(format!("cannot compress the image: {error}")))?;
    let compressed = compressor
        .finish()
        .map_err(|error| InvalidValue::new(format!("cannot compress the image: {error}")))?;
    let side = u32::try_from(side).map_err(|_| InvalidValue::new("the image is too large"))?;
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&side.to_be_bytes());
    // Bit depth 8, grayscale, deflate, adaptive filtering, no interlace.
    header.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut png = PNG_SIGNATURE.to_vec();
    push_chunk(&mut png, b"IHDR", &header)?;
    push_chunk(&mut png, b"IDAT", &compressed)?;
    push_chunk(&mut png, b"IEND", &[])?;
    Ok(png)
}

/// Appends one PNG chunk: length, type, data, CRC-32 of type and data.
fn push_chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) -> Result<(), InvalidValue> {
    let length =
        u32::try_from(data.len()).map_err(|_| InvalidValue::new("the image is too large"))?;
    png.extend_from_slice(&length.to_be_bytes());
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    png.extend_from_slice(&crc.finalize().to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pairing_code_becomes_a_png_of_its_qr_code() {
        let png = pairing_qr_png("2@Qm9hIHRhcmRlIQ==,bWFyaWE=,b3Jpb24=,c3Vwb3J0ZQ==").unwrap();
        assert_eq!(&png[..8], &PNG_SIGNATURE);
        assert_eq!(&png[12..16], b"IHDR");
        let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
        assert_eq!(width % 8, 0, "whole modules");
        assert!(
            width >= (21 + 8) * 8,
            "at least a version-1 code with its quiet zone"
        );
        assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");
        assert!(
            png.len() < 20_000,
            "small enough to post: {} bytes",
            png.len()
        );
    }

    #[test]
    fn an_empty_code_is_refused() {
        assert!(pairing_qr_png("  ").is_err());
    }
}
