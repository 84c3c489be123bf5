//! How vectors are checked, normalised and stored as bytes.
//!
//! The store keeps each vector as a BLOB of little-endian `f32`, 4 bytes per
//! dimension: the same layout sqlite-vec's `float[N]` columns and pgvector's
//! binary protocol use, so the bytes can move between engines unchanged.

use crate::IndexError;

/// Checks that `vector` has `dim` values, all finite.
pub fn validate(vector: &[f32], dim: usize) -> Result<(), IndexError> {
    if vector.len() != dim {
        return Err(IndexError::Dimension { expected: dim, got: vector.len() });
    }
    if vector.iter().all(|x| x.is_finite()) {
        Ok(())
    } else {
        Err(IndexError::NotFinite)
    }
}

/// Scales `vector` to unit length in place, so that dot products are cosines.
///
/// Fails on a non-finite value or a zero vector (which has no direction); the
/// vector is left unchanged then.
pub fn normalize(vector: &mut [f32]) -> Result<(), IndexError> {
    if !vector.iter().all(|x| x.is_finite()) {
        return Err(IndexError::NotFinite);
    }
    // f64, so that large finite values cannot overflow the sum of squares.
    let norm = vector.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
    if norm == 0.0 {
        return Err(IndexError::ZeroLength);
    }
    for x in vector.iter_mut() {
        *x = (f64::from(*x) / norm) as f32;
    }
    Ok(())
}

/// The store's bytes for `vector`: little-endian `f32`, 4 bytes per value.
pub fn encode(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The vector in `blob` (as written by [`encode`]), which must hold exactly
/// `dim` finite values.
pub fn decode(blob: &[u8], dim: usize) -> Result<Vec<f32>, IndexError> {
    if blob.len() != dim * 4 {
        return Err(IndexError::BlobLength { expected: dim * 4, got: blob.len() });
    }
    let vector: Vec<f32> =
        blob.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    validate(&vector, dim)?;
    Ok(vector)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_bit_exact() {
        let v = vec![0.0, -0.0, 1.0, -1.5, f32::MIN_POSITIVE, f32::MAX, 1e-40, 0.333_333_34];
        let blob = encode(&v);
        assert_eq!(blob.len(), v.len() * 4);
        let back = decode(&blob, v.len()).unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&v));
    }

    #[test]
    fn layout_is_little_endian_f32() {
        assert_eq!(encode(&[1.0]), vec![0x00, 0x00, 0x80, 0x3f]);
        assert_eq!(decode(&[0x00, 0x00, 0x80, 0xbf], 1).unwrap(), vec![-1.0]);
    }

    #[test]
    fn bad_blob_lengths_are_rejected() {
        let blob = encode(&[1.0, 2.0, 3.0]);
        assert_eq!(decode(&blob, 4), Err(IndexError::BlobLength { expected: 16, got: 12 }));
        assert_eq!(decode(&blob[..11], 3), Err(IndexError::BlobLength { expected: 12, got: 11 }));
        assert_eq!(decode(&[], 1), Err(IndexError::BlobLength { expected: 4, got: 0 }));
        assert_eq!(decode(&[], 0), Ok(vec![]));
    }

    #[test]
    fn non_finite_blobs_are_rejected() {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            assert_eq!(decode(&encode(&[0.5, bad]), 2), Err(IndexError::NotFinite));
        }
    }

    #[test]
    fn normalize_gives_unit_length() {
        let mut v = vec![3.0, 4.0, 0.0];
        normalize(&mut v).unwrap();
        assert_eq!(v, vec![0.6, 0.8, 0.0]);
        // Values whose squares overflow f32 still normalise.
        let mut big = vec![f32::MAX, f32::MAX];
        normalize(&mut big).unwrap();
        assert!((big[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
    }

    #[test]
    fn normalize_rejects_zero_and_non_finite() {
        let mut zero = vec![0.0; 4];
        assert_eq!(normalize(&mut zero), Err(IndexError::ZeroLength));
        let mut nan = vec![1.0, f32::NAN];
        assert_eq!(normalize(&mut nan), Err(IndexError::NotFinite));
        assert!(nan[0] == 1.0 && nan[1].is_nan(), "left unchanged");
    }

    #[test]
    fn validate_checks_dimension_then_values() {
        assert_eq!(validate(&[1.0, 0.0], 2), Ok(()));
        assert_eq!(validate(&[1.0], 2), Err(IndexError::Dimension { expected: 2, got: 1 }));
        assert_eq!(validate(&[f32::NAN, 0.0], 2), Err(IndexError::NotFinite));
    }
}
