"""Bad and edge input through the Python API (readers, the control layer, writers, the talking-head pipeline), one
row per kind, each with its exact outcome class (see conftest). The pipeline is the tiny real one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from emogen.controls import Keyframe, analyze_text, parse_emotion_spec, resolve_emotion, speech_pieces
from emogen.emotion import EmotionLabel
from emogen.export import write_audio, write_rttm, write_video, write_wav
from emogen.io.atomic import atomic_output
from emogen.io.audio import load_audio
from emogen.io.image import read_image, to_rgb_uint8
from emogen.io.video import read_video_frames

pytestmark = pytest.mark.reliability

SR = 16000
TONE = (0.1 * np.sin(np.arange(SR) / 5)).astype(np.float32)  # 1 s at 16 kHz
FRAMES = np.full((3, 16, 16, 3), 128, np.uint8)
LONG_ENGLISH = " ".join(["The committee met on Tuesday to review the annual budget figures."] * 20) + (
    " I am absolutely furious and disgusted that they lied to us again!"
)


@dataclass(frozen=True)
class Case:
    id: str
    call: object  # (env) -> result
    outcome: str
    needle: str
    check: object = None  # for "works": (result, env) -> None


def _pipe(env, **kwargs):
    base = dict(num_inference_steps=1, output_type="motion", generator=torch.Generator().manual_seed(0))
    return env.pipe(**{**base, **kwargs})


def _long_text_is_read_whole(result, env):
    (whole,) = result
    truncated = env.text_model_vad(LONG_ENGLISH)
    assert abs(whole.vad.valence - truncated[0]) > 0.02  # the angry end counts: the text was not cut at 128 tokens


def _stereo_kept(out, env):
    assert out.sample_rate == 48000 and out.audio.shape == (48000, 2)


def _gray16(arr, env):
    assert arr.dtype == np.uint8 and 60 < arr.mean() < 180  # not clipped to near-white


def _exif(arr, env):
    assert arr.shape == (400, 512, 3)  # stored 512 x 400, shown rotated


def _mp3(path, env):
    head = Path(path).read_bytes()[:3]
    assert head == b"ID3" or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"), head


CASES = [
    # image decoding
    Case("read-truncated-png", lambda e: read_image(e.inp / "truncated.png"), "error", "truncated.png"),
    Case("read-corrupt-png", lambda e: read_image(e.inp / "corrupt.png"), "error", "corrupt.png"),
    Case("read-text-as-jpg", lambda e: read_image(e.inp / "text.jpg"), "error", "text.jpg"),
    Case("read-zero-byte-jpg", lambda e: read_image(e.inp / "empty.jpg"), "error", "empty.jpg"),
    Case("read-90-megapixels", lambda e: read_image(e.inp / "huge.png"), "error", "huge.png"),
    Case("image-empty-array", lambda e: to_rgb_uint8(np.zeros((0, 5, 3), np.uint8)), "error", "(0, 5, 3)"),
    Case("image-nan-array", lambda e: to_rgb_uint8(np.full((4, 4, 3), np.nan)), "error", "NaN"),
    Case("image-5-channels", lambda e: to_rgb_uint8(np.zeros((4, 4, 5), np.uint8)), "error", "(4, 4, 5)"),
    Case("image-16bit-png", lambda e: to_rgb_uint8(e.inp / "gray16.png"), "works", "", _gray16),
    Case("image-uint16-array", lambda e: to_rgb_uint8(np.full((8, 8), 30000, np.uint16)), "works", "",
         lambda a, e: np.testing.assert_array_equal(a, 117)),
    Case("image-exif-rotated-jpeg", lambda e: to_rgb_uint8(e.inp / "rotated.jpg"), "works", "", _exif),
    # audio and video decoding
    Case("audio-text-file", lambda e: load_audio(e.inp / "text.wav"), "error", "text.wav"),
    Case("audio-truncated-mp4", lambda e: load_audio(e.inp / "truncated.mp4"), "error", "truncated.mp4"),
    Case("audio-601s-file", lambda e: load_audio(e.inp / "long.wav"), "error", "601"),
    Case("audio-inf-samples", lambda e: load_audio(np.full(SR, np.inf, np.float32)), "error", "infinite"),
    Case("audio-48k-stereo-kept", lambda e: load_audio(e.inp / "stereo48k.wav", None, mono=False), "works", "",
         lambda r, e: (r[0].shape, r[1]) == ((48000, 2), 48000) or pytest.fail(str(r[0].shape))),
    Case("video-folder", lambda e: read_video_frames(e.inp / "folder"), "error", "folder"),
    Case("video-still-jpeg", lambda e: read_video_frames(e.inp / "rotated.jpg"), "error", "still image"),
    # emotion specs
    Case("spec-unknown-word", lambda e: parse_emotion_spec("abc"), "error", "text:abc"),
    Case("spec-bare-time", lambda e: parse_emotion_spec("0s"), "error", "'0s'"),
    Case("spec-emoji", lambda e: parse_emotion_spec("🙂"), "error", "🙂"),
    Case("spec-trailing-colon", lambda e: parse_emotion_spec("happy:"), "error", "at character 7"),
    Case("spec-mixture-unknown", lambda e: parse_emotion_spec("happy:0.5+blorp:0.5"), "error", "at character 11"),
    Case("spec-mixture-dangling-plus", lambda e: parse_emotion_spec("happy+"), "error", "'happy+'"),
    Case("spec-timeline-no-comma", lambda e: parse_emotion_spec("0s happy 1s sad"), "error", "at character 10"),
    Case("spec-time-exponent", lambda e: parse_emotion_spec("1e3s happy"), "error", "'1e3s'"),
    Case("spec-digits-only-text", lambda e: parse_emotion_spec("12 34"), "error", "'12 34'"),
    Case("spec-text-prefix", lambda e: parse_emotion_spec("text:abc"), "works", "",
         lambda r, e: r == "abc" or pytest.fail(r)),
    Case("tags-unclosed", lambda e: speech_pieces("[happy We won."), "error", "Unmatched '['"),
    Case("tags-not-an-emotion", lambda e: speech_pieces("[we won] Yes."), "error", "[we won]"),
    # the bound on work, however the duration is given
    Case("resolve-timeline-100000s", lambda e: resolve_emotion("0s happy, 100000s sad"), "error", "100000s"),
    Case("resolve-keyframes-100000s",
         lambda e: resolve_emotion([Keyframe(0, EmotionLabel("happy")), Keyframe(100000, EmotionLabel("sad"))]),
         "error", "100000"),
    Case("resolve-duration-1e9", lambda e: resolve_emotion("happy", duration=1e9), "error", "1e+09"),
    Case("resolve-fps-1e9", lambda e: resolve_emotion("happy", fps=1e9, duration=1.0), "error", "1000000000.0"),
    Case("resolve-num-frames-1e9", lambda e: resolve_emotion("happy", num_frames=10**9), "error", "1000000000"),
    Case("text-too-long", lambda e: analyze_text(["x" * 20_001]), "error", "20001 characters"),
    Case("text-batch-size-0", lambda e: analyze_text(["hi there"], batch_size=0), "error", "batch_size"),
    Case("text-french", lambda e: analyze_text("Je suis très heureux aujourd'hui"), "warn", "Je suis très"),
    Case("text-spanish-in-timeline", lambda e: resolve_emotion("0s 'Estoy muy feliz con mi familia', 1s sad"),
         "warn", "Estoy muy feliz"),
    Case("text-long-is-windowed", lambda e: analyze_text([LONG_ENGLISH]), "works", "", _long_text_is_read_whole),
    # writers: checked before writing, nothing half-written
    Case("video-wrong-format", lambda e: write_video(e.out / "a.avi", FRAMES, fps=25), "error", "a.avi"),
    Case("video-read-only-folder", lambda e: write_video(e.ro / "a.mp4", FRAMES, fps=25), "error", "not writable"),
    Case("video-nan-audio", lambda e: write_video(e.out / "a.mp4", FRAMES, 25, np.full(100, np.nan), SR), "error",
         "NaN"),
    Case("video-audio-12345hz", lambda e: write_video(e.out / "a.mp4", FRAMES, 25, TONE, 12345), "warn", "12345 Hz"),
    Case("wav-named-mp3", lambda e: write_wav(e.out / "x.mp3", TONE, SR), "error", "x.mp3"),
    Case("audio-named-txt", lambda e: write_audio(e.out / "x.txt", TONE, SR), "error", "x.txt"),
    Case("audio-mp3-is-mp3", lambda e: write_audio(e.out / "x.mp3", TONE, SR), "works", "", _mp3),
    Case("atomic-read-only", lambda e: atomic_output(e.ro / "x.json").__enter__(), "error", "x.json"),
    Case("rttm-missing-folders", lambda e: write_rttm(e.diarized, e.out / "new" / "deeper" / "x.rttm"), "works", "",
         lambda p, e: p.read_text().startswith("SPEAKER") or pytest.fail(p.read_text())),
    # the talking-head pipeline (tiny, real)
    Case("pipe-guidance-nan", lambda e: _pipe(e, audio=TONE, emotion_guidance_scale=float("nan")), "error",
         "emotion_guidance_scale"),
    Case("pipe-guidance-inf", lambda e: _pipe(e, audio=TONE, audio_guidance_scale=float("inf")), "error",
         "audio_guidance_scale"),
    Case("pipe-sample-rate-5", lambda e: _pipe(e, audio=TONE, sample_rate=5), "error", "sample_rate must"),
    Case("pipe-blank-text", lambda e: _pipe(e, text="   "), "error", "text is empty"),
    Case("pipe-text-too-long", lambda e: _pipe(e, text="x" * 20_001), "error", "20001 characters"),
    Case("pipe-unknown-word", lambda e: _pipe(e, audio=TONE, emotion="abc"), "error", "'abc'"),
    Case("pipe-65-clips", lambda e: _pipe(e, audio=TONE, emotion=["happy"] * 65), "error", "65 clips"),
    Case("pipe-601s-audio", lambda e: _pipe(e, audio=np.zeros(SR * 601, np.float32) + 0.01), "error", "601"),
    Case("pipe-frames-bound", lambda e: _pipe(e, audio=np.zeros(SR * 200, np.float32) + 0.01, fps=120), "error",
         "24000 frames"),
    Case("pipe-pixel-bound", lambda e: _pipe(e, audio=np.zeros(SR * 100, np.float32) + 0.01, height=4096),
         "error", "G pixels"),
    Case("pipe-truncated-portrait", lambda e: _pipe(e, image=e.inp / "truncated.png", audio=TONE, output_type="np"),
         "error", "truncated.png"),
    Case("pipe-array-without-rate", lambda e: _pipe(e, audio=TONE), "warn", "without sample_rate"),
    Case("pipe-48k-stereo-kept", lambda e: _pipe(e, audio=str(e.inp / "stereo48k.wav"), emotion="happy"), "works",
         "", _stereo_kept),
]  # fmt: skip


@pytest.fixture(scope="module")
def env_base(inputs, readonly_dir, tiny_talking_head):
    from emogen.controls.resolve import TEXT_VAD_GAIN, _default_text_model

    def text_model_vad(text):  # what the model reads from the first 128 tokens only, on the same scale
        raw = _default_text_model().predict_vad([text], long_texts="truncate")[0]
        return [float(np.tanh(g * r)) for g, r in zip(TEXT_VAD_GAIN, raw, strict=True)]

    return SimpleNamespace(inp=inputs, ro=readonly_dir, pipe=tiny_talking_head, text_model_vad=text_model_vad)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.outcome}-{c.id}" for c in CASES])
def test_python_input(case, env_base, tmp_path, caplog, rel):
    out = tmp_path / "out"
    out.mkdir()
    env = SimpleNamespace(**vars(env_base), out=out, diarized=_diarization() if case.id.startswith("rttm") else None)
    before = rel.snapshot(env.inp)
    if case.outcome == "error":
        with pytest.raises(ValueError) as info:
            case.call(env)
        rel.assert_one_line_error(str(info.value), case.needle)
        assert rel.snapshot(out) == [], "left behind on failure"
    elif case.outcome == "warn":
        case.call(env)
        assert rel.warnings_naming(caplog, case.needle), [r.getMessage() for r in caplog.records]
    else:
        case.check(case.call(env), env)
        assert not [p for p in rel.snapshot(out) if ".emogen-tmp-" in p]
    assert rel.snapshot(env.inp) == before, "files appeared beside the inputs"


def _diarization():
    from emogen.diarize import diarize

    return diarize(TONE, SR)
