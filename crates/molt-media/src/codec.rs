//! Human names for codecs, including ones symphonia has no decoder for.

use symphonia::core::codecs::*;

/// A readable codec name for messages; unsupported codecs have no symphonia descriptor,
/// so the common ones are named here and the rest fall back to the numeric id.
pub(crate) fn codec_label(codec: CodecType) -> String {
    let name = match codec {
        CODEC_TYPE_OPUS => "Opus",
        CODEC_TYPE_SPEEX => "Speex",
        CODEC_TYPE_ALAC => "ALAC",
        CODEC_TYPE_AAC => "AAC",
        CODEC_TYPE_MP1 => "MPEG Layer I",
        CODEC_TYPE_MP2 => "MPEG Layer II",
        CODEC_TYPE_MP3 => "MP3",
        CODEC_TYPE_VORBIS => "Vorbis",
        CODEC_TYPE_FLAC => "FLAC",
        CODEC_TYPE_EAC3 => "E-AC-3",
        CODEC_TYPE_AC4 => "AC-4",
        CODEC_TYPE_WMA => "WMA",
        CODEC_TYPE_ADPCM_MS | CODEC_TYPE_ADPCM_IMA_WAV => "ADPCM",
        other => return format!("codec {other}"),
    };
    name.to_owned()
}

/// True for uncompressed PCM codecs, whose size per frame is fixed by the container.
pub(crate) fn is_pcm(codec: CodecType) -> bool {
    matches!(
        codec,
        CODEC_TYPE_PCM_S8
            | CODEC_TYPE_PCM_U8
            | CODEC_TYPE_PCM_ALAW
            | CODEC_TYPE_PCM_MULAW
            | CODEC_TYPE_PCM_S16LE
            | CODEC_TYPE_PCM_S16BE
            | CODEC_TYPE_PCM_U16LE
            | CODEC_TYPE_PCM_U16BE
            | CODEC_TYPE_PCM_S24LE
            | CODEC_TYPE_PCM_S24BE
            | CODEC_TYPE_PCM_U24LE
            | CODEC_TYPE_PCM_U24BE
            | CODEC_TYPE_PCM_S32LE
            | CODEC_TYPE_PCM_S32BE
            | CODEC_TYPE_PCM_U32LE
            | CODEC_TYPE_PCM_U32BE
            | CODEC_TYPE_PCM_F32LE
            | CODEC_TYPE_PCM_F32BE
            | CODEC_TYPE_PCM_F64LE
            | CODEC_TYPE_PCM_F64BE
    )
}
