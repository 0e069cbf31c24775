"""EmoSpeechPipeline: emotion per tagged segment, per sentence on a timeline, or from a track (both TTS components:
hibari's neural voice, the default, and espeak-ng)."""

from __future__ import annotations

import json

import numpy as np
import parselmouth
import pytest
import torch

from emogen.emotion import LABELS, EmotionTrack
from emogen.pipelines.speech import EmoSpeechPipeline, SpeechOutput
from emogen.speech import PhoneSegment, SpeechPlan
from emogen.speech.engine import EspeakTTS, HibariTTS

#: component → (voice the tests speak with, its sample rate)
VOICES = {"HibariTTS": ("heart", 24000), "EspeakTTS": ("en-us+f3", 22050)}


@pytest.fixture(scope="module", params=["HibariTTS", "EspeakTTS"])
def pipe(request):
    p = EmoSpeechPipeline(tts=HibariTTS() if request.param == "HibariTTS" else EspeakTTS())
    p.set_progress_bar_config(disable=True)
    return p


def voice_of(pipe) -> tuple[str, int]:
    return VOICES[type(pipe.tts).__name__]


def median_f0_and_level(wave: np.ndarray, sr: int) -> tuple[float, float]:
    pitch = parselmouth.Sound(wave.astype(np.float64), sr).to_pitch(time_step=0.01, pitch_floor=50, pitch_ceiling=700)
    f = pitch.selected_array["frequency"]
    return float(np.median(f[f > 0])), float(20 * np.log10(np.sqrt(np.mean(wave**2))))


def span_stats(out: SpeechOutput, i: int) -> tuple[float, float]:
    a, b = out.plan.spans[i]
    return median_f0_and_level(out.waveform[int(a * out.sample_rate) : int(b * out.sample_rate)], out.sample_rate)


def test_tags_change_the_voice_at_the_boundary(pipe):
    voice, sr = voice_of(pipe)
    out = pipe("[happy] We won the match today! [sad:0.9] But Sam got hurt very badly.", voice=voice)
    assert isinstance(out, SpeechOutput) and out.waveform.dtype == np.float32 and out.sample_rate == sr
    assert [s.label for s in out.plan.segments] == ["happy", "sad"]
    assert out.plan.segments[1].intensity == pytest.approx(0.9)
    (f_happy, l_happy), (f_sad, l_sad) = span_stats(out, 0), span_stats(out, 1)
    assert 12 * np.log2(f_happy / f_sad) > 4.0 and l_happy - l_sad > 5.0
    # the returned track says what was spoken where
    labels = out.emotion_track.top_label()
    fps = out.emotion_track.fps
    happy_end, sad_start = round(out.plan.spans[0][1] * fps), round(out.plan.spans[1][0] * fps)
    assert set(labels[: happy_end - 1]) == {"happy"} and set(labels[sad_start + 1 :]) == {"sad"}
    assert out.emotion_track.num_frames == round(len(out.waveform) / out.sample_rate * 25)
    assert all(isinstance(p, PhoneSegment) for p in out.phones)
    assert out.phones[-1].end == pytest.approx(len(out.waveform) / out.sample_rate, abs=0.02)


def test_untagged_text_uses_emotion_and_tags_override(pipe):
    out = pipe("Fine. [sad] Not fine.", emotion="angry:0.8")
    assert [(s.label, round(s.intensity, 2)) for s in out.plan.segments] == [("angry", 0.8), ("sad", 1.0)]
    neutral = pipe("Fine. Not fine.")
    assert all(s.is_neutral for s in neutral.plan.segments)


def test_timeline_and_track_steer_each_sentence_by_time(pipe):
    text = "The first sentence is here. The second one follows. A third one comes now. And the last one ends it."
    out = pipe(text, emotion="0s happy, 3s sad")
    labels = [s.label for s in out.plan.segments]
    assert len(labels) == 4 and labels[0] == "happy" and labels[-1] == "sad"
    # each sentence against its own neutral rendition (a neural voice gives sentences their own melody)
    neutral = pipe(text)
    f_first, f_last = (
        span_stats(out, 0)[0] / span_stats(neutral, 0)[0],
        span_stats(out, 3)[0] / span_stats(neutral, 3)[0],
    )
    assert f_first > f_last * 2 ** (3 / 12)
    # the precomputed twin gives the same plan
    n = 100
    probs = torch.zeros(n, len(LABELS))
    probs[:, LABELS.index("angry")] = 1.0
    track = EmotionTrack(
        vad=torch.tensor([[-0.51, 0.59, 0.25]]).repeat(n, 1), probs=probs, intensity=torch.ones(n), fps=25.0
    )
    by_track = pipe("Go away. Now.", emotion_track=track)
    assert [s.label for s in by_track.plan.segments] == ["angry", "angry"]
    by_spec = pipe("Go away. Now.", emotion="angry").plan.segments[0]
    assert by_track.plan.segments[0].pitch_shift == pytest.approx(by_spec.pitch_shift, abs=1e-4)
    assert by_track.plan.segments[0].loudness == pytest.approx(by_spec.loudness, abs=1e-4)


def test_return_tuple_and_speed(pipe):
    wave, sr, phones, plan, track = pipe("Hello there, friend.", return_dict=False)
    assert isinstance(plan, SpeechPlan) and isinstance(track, EmotionTrack) and sr == voice_of(pipe)[1]
    fast = pipe("Hello there, friend.", speed=1.5)
    assert len(fast.waveform) < 0.8 * len(wave)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"text": ""}, ValueError, "empty"),
        ({"text": "🙂🙂 ✨"}, ValueError, "Nothing to speak"),
        ({"text": "x " * 20_001}, ValueError, "synthesize_stream"),
        ({"text": "Hi.", "voice": "en-xx"}, ValueError, "voice"),
        ({"text": "Hi.", "emotion": "hapy"}, ValueError, "happy"),
        ({"text": "[citation needed] Hi."}, ValueError, "not an emotion"),
        ({"text": "Hi.", "speed": 9}, ValueError, "speed"),
        ({"text": 3}, TypeError, "string"),
    ],
)
def test_bad_inputs(pipe, kwargs, error, match):
    with pytest.raises(error, match=match):
        pipe(**kwargs)


def test_emotion_and_its_twin_are_exclusive(pipe):
    track = EmotionTrack.from_vad(torch.zeros(1, 3), fps=25.0)
    with pytest.raises(ValueError, match="not both"):
        pipe("Hi.", emotion="happy", emotion_track=track)


def test_save_and_load_keep_the_engine_config(tmp_path):
    pipe = EmoSpeechPipeline(tts=EspeakTTS(default_voice="en-us+f3"))
    pipe.save_pretrained(tmp_path)
    loaded = EmoSpeechPipeline.from_pretrained(tmp_path)  # folders saved with espeak-ng keep loading as they were
    assert isinstance(loaded.tts, EspeakTTS) and loaded.tts.config.default_voice == "en-us+f3"
    loaded.set_progress_bar_config(disable=True)
    assert loaded("Hello.").plan.voice == "en-us+f3"


def test_the_default_is_hibari_and_routes_espeak_voices(tmp_path):
    pipe = EmoSpeechPipeline()
    assert isinstance(EmoSpeechPipeline.from_pretrained().tts, HibariTTS)  # no path: the default voice, offline
    assert isinstance(EmoSpeechPipeline.from_pretrained(tts=EspeakTTS()).tts, EspeakTTS)
    assert isinstance(pipe.tts, HibariTTS) and pipe.tts.default_voice == "heart" and pipe.tts.name == "hibari"
    assert {"heart", "en-us", "en-us+f3"} <= set(pipe.tts.voices())
    pipe.set_progress_bar_config(disable=True)
    assert pipe("Hello.", voice="en-us+f3").sample_rate == 22050
    HibariTTS(default_voice="en-us+f3", threads=2).save_pretrained(tmp_path / "tts")
    config = json.loads((tmp_path / "tts" / "config.json").read_text())
    assert config["_class_name"] == "HibariTTS" and config["threads"] == 2 and config["espeak_fallback"] is True
    assert not list((tmp_path / "tts").glob("*.onnx")) and not list((tmp_path / "tts").glob("*.safetensors"))
    loaded = HibariTTS.from_pretrained(tmp_path / "tts")
    assert {k: v for k, v in loaded.config.items() if not k.startswith("_")} == {
        "default_voice": "en-us+f3", "threads": 2, "max_chars": 20_000, "espeak_fallback": True
    }  # fmt: skip
    assert loaded.name == "espeak-ng" and loaded.default_voice == "en-us+f3"
    only = HibariTTS(espeak_fallback=False)
    with pytest.raises(ValueError, match="'en-us'"):
        only.check_voice("en-us")
    with pytest.raises(ValueError, match="espeak_fallback"):
        HibariTTS(espeak_fallback="yes")


def test_auto_reads_each_sentence(pipe):
    pytest.importorskip("emogen.models.text_emotion")
    out = pipe("I am so happy and delighted today! This is a terrible, sad loss.", emotion="auto")
    a, b = out.plan.segments
    assert a.vad[0] > b.vad[0]
