"""EmoTalkingHeadPipeline with tiny real components (and one test of the shipped weights)."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler

from emogen.arkit import ARKIT_INDEX
from emogen.audio import SAMPLE_RATE
from emogen.controls import resolve_emotion, smooth_track
from emogen.controls.encoder import EmotionEncoder
from emogen.diarize import diarize
from emogen.emotion import EmotionTrack
from emogen.io.audio import load_audio
from emogen.models import MotionDenoiser
from emogen.motion import MotionTrack
from emogen.pipelines.talking_head import EmoTalkingHeadPipeline, TalkingHeadOutput
from emogen.speech.engine import EspeakTTS

EMB = 16


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pipe(tiny_talking_head) -> EmoTalkingHeadPipeline:
    return tiny_talking_head


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """~1.5 s of real (espeak-ng) speech at 16 kHz."""
    from emogen.pipelines.speech import EmoSpeechPipeline

    sp = EmoSpeechPipeline()
    sp.set_progress_bar_config(disable=True)
    out = sp("Hello there, my friend.", emotion="happy")
    wave, _ = load_audio(out.waveform, SAMPLE_RATE, source_rate=out.sample_rate)
    return wave


def seed(n: int) -> torch.Generator:
    return torch.Generator().manual_seed(n)


def run(pipe, speech, **kwargs) -> TalkingHeadOutput:
    kwargs = {"audio": speech, "emotion": "happy", "num_inference_steps": 3, "output_type": "motion", **kwargs}
    kwargs.setdefault("generator", seed(0))
    return pipe(**kwargs)


def flat(motion: MotionTrack) -> torch.Tensor:
    return torch.cat([motion.blendshapes, motion.head_rotation, motion.head_translation, motion.gaze], -1)


# ------------------------------------------------------------------------------------------------- shapes
def test_motion_output_shapes(pipe, speech):
    out = run(pipe, speech)
    frames = round(len(speech) / SAMPLE_RATE * 25)
    assert isinstance(out, TalkingHeadOutput) and out.frames is None
    assert isinstance(out.motion, MotionTrack) and out.motion.fps == 25.0
    assert out.motion.blendshapes.shape == (frames, 52) and out.motion.gaze.shape == (frames, 2)
    assert out.emotion_conditioning.embeds.shape == (1, frames, EMB)
    assert isinstance(out.emotion_track, EmotionTrack) and out.emotion_track.num_frames == frames
    assert out.emotion_track.top_label()[0] == "happy"
    assert out.sample_rate == SAMPLE_RATE and np.array_equal(out.audio, speech)
    tup = pipe(audio=speech, num_inference_steps=2, output_type="motion", return_dict=False, emotion="sad")
    assert len(tup) == 7 and tup[0] is None and isinstance(tup[3], MotionTrack)


def test_fps_resamples_the_model_motion(pipe, speech):
    kw = dict(blink_rate=0, gaze="model")
    at25 = run(pipe, speech, **kw).motion
    at50 = run(pipe, speech, fps=50, **kw).motion
    assert at50.fps == 50.0 and at50.num_frames == round(len(speech) / SAMPLE_RATE * 50)
    # every other 50-fps frame is a 25-fps frame (linear resampling keeps the model's frames)
    n = min(at25.num_frames, at50.num_frames // 2)
    torch.testing.assert_close(at50.blendshapes[: 2 * n : 2], at25.blendshapes[:n], atol=1e-5, rtol=0)
    mid = 0.5 * (at25.blendshapes[: n - 1] + at25.blendshapes[1:n])
    torch.testing.assert_close(at50.blendshapes[1 : 2 * n - 1 : 2], mid, atol=1e-5, rtol=0)


# ------------------------------------------------------------------------------------------------- seeds
def test_same_seed_same_output_other_seed_differs(pipe, speech):
    a, b, c = run(pipe, speech), run(pipe, speech), run(pipe, speech, generator=seed(1))
    assert torch.equal(flat(a.motion), flat(b.motion))
    assert not torch.allclose(flat(a.motion), flat(c.motion), atol=1e-3)


def test_emotion_changes_output(pipe, speech):
    happy, sad = run(pipe, speech, emotion="happy"), run(pipe, speech, emotion="sad:0.9")
    assert (flat(happy.motion) - flat(sad.motion)).abs().max() > 1e-2
    assert sad.emotion_track.top_label()[0] == "sad"


def test_precomputed_conditioning_equals_raw_emotion(pipe, speech):
    raw = run(pipe, speech, emotion="sad:0.7")
    frames = round(len(speech) / SAMPLE_RATE * 25)
    # built independently of the pipeline's own encoding path
    cond = pipe.emotion_encoder(resolve_emotion("sad:0.7", fps=25, num_frames=frames), num_frames=frames, fps=25.0)
    pre = run(pipe, speech, emotion=None, emotion_conditioning=cond)
    assert torch.equal(flat(raw.motion), flat(pre.motion))
    assert pre.emotion_track is None and pre.emotion_conditioning is not None
    torch.testing.assert_close(pipe.encode_emotion(resolve_emotion("sad:0.7"), frames).embeds, cond.embeds)
    with pytest.raises(ValueError, match="not both"):
        run(pipe, speech, emotion="sad", emotion_conditioning=cond)
    with pytest.raises(ValueError, match="needs 1?\\d+"):
        short = pipe.emotion_encoder(resolve_emotion("sad", num_frames=5), num_frames=5, fps=25.0)
        run(pipe, speech, emotion=None, emotion_conditioning=short)


# ------------------------------------------------------------------------------------------------- save / load
def test_save_load_round_trip(pipe, speech, tmp_path):
    pipe.save_pretrained(tmp_path)
    index = json.loads((tmp_path / "model_index.json").read_text())
    assert index["_class_name"] == "EmoTalkingHeadPipeline"
    assert index["emotion_encoder"] == ["emogen.controls.encoder", "EmotionEncoder"]
    assert index["motion_denoiser"] == ["emogen.models.motion_denoiser", "MotionDenoiser"]
    assert index["tts"] == ["emogen.speech.engine", "EspeakTTS"]
    assert index["scheduler"] == ["diffusers", "DDIMScheduler"]
    assert "animator" not in index  # a run-time choice, never serialised
    for sub in ("motion_denoiser", "emotion_encoder"):
        assert (tmp_path / sub / "diffusion_pytorch_model.safetensors").is_file()
    loaded = EmoTalkingHeadPipeline.from_pretrained(tmp_path)
    loaded.set_progress_bar_config(disable=True)
    assert isinstance(loaded.motion_denoiser, MotionDenoiser) and isinstance(loaded.emotion_encoder, EmotionEncoder)
    assert isinstance(loaded.tts, EspeakTTS) and isinstance(loaded.scheduler, DDIMScheduler)
    assert torch.equal(flat(run(pipe, speech).motion), flat(run(loaded, speech).motion))
    shared = EmoTalkingHeadPipeline(**pipe.components)  # components are shared between pipelines (DESIGN §9)
    shared.set_progress_bar_config(disable=True)
    assert shared.motion_denoiser is pipe.motion_denoiser
    assert torch.equal(flat(run(pipe, speech).motion), flat(run(shared, speech).motion))
    # the classes are looked up by the module paths recorded in model_index.json (diffusers only uses modules
    # that are already imported; the pipeline module imports all three)
    index["tts"] = ["emogen.speech.no_such_module", "EspeakTTS"]
    (tmp_path / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match="no_such_module"):
        EmoTalkingHeadPipeline.from_pretrained(tmp_path)


def test_shipped_model_index_resolves():
    """Saved pipelines name their components by module path: every path in the shipped folder still imports."""
    import importlib

    from diffusers import ModelMixin, SchedulerMixin

    from emogen.assets import shipped_weights_dir

    index = json.loads((shipped_weights_dir("talking_head") / "model_index.json").read_text())
    for name, value in index.items():
        if name.startswith("_"):
            continue
        module, cls = value
        component = getattr(importlib.import_module(module), cls)
        assert issubclass(component, (ModelMixin, SchedulerMixin)), (name, module, cls)


def test_long_clip_returns_the_conditioning_it_used(pipe, speech):
    """A clip longer than one denoising window: passing the returned conditioning back reproduces it exactly."""
    kwargs = {"emotion": "0s happy, 0.6s sad, 1.2s surprised", "window": 16, "overlap": 4}
    raw = run(pipe, speech, **kwargs)
    assert raw.emotion_conditioning.num_frames > 16  # several windows
    again = run(pipe, speech, emotion=None, emotion_conditioning=raw.emotion_conditioning, window=16, overlap=4)
    assert torch.equal(flat(raw.motion), flat(again.motion))
    # each window pools its own frames: the per-window pooled vectors differ along a changing timeline
    enc = pipe.emotion_encoder
    first, last = enc.window(raw.emotion_conditioning, 0, 16), enc.window(raw.emotion_conditioning, 24, 38)
    assert not torch.allclose(first.pooled, last.pooled)


# ------------------------------------------------------------------------------------------------- callback
def test_callback_can_edit_latents(pipe, speech):
    seen = []

    def zero_last(p, step, timestep, kwargs):
        seen.append((step, int(timestep), tuple(kwargs["latents"].shape)))
        if step == 2:
            return {"latents": torch.zeros_like(kwargs["latents"])}
        return {}

    kw = dict(blink_rate=0, gaze="model")
    out = run(pipe, speech, callback_on_step_end=zero_last, **kw)
    frames = out.motion.num_frames
    assert [s[0] for s in seen] == [0, 1, 2] and seen[0][1] > seen[-1][1] and seen[0][2] == (1, frames, 60)
    # normalised zeros denormalise to the corpus mean
    mean = pipe.motion_denoiser.motion_mean
    torch.testing.assert_close(out.motion.blendshapes, mean[:52].clamp(0, 1).expand(frames, -1))
    torch.testing.assert_close(out.motion.head_rotation, mean[52:55].expand(frames, -1))
    untouched = run(pipe, speech, **kw)
    assert not torch.allclose(flat(out.motion), flat(untouched.motion), atol=1e-3)
    with pytest.raises(ValueError, match="not available"):
        run(pipe, speech, callback_on_step_end=zero_last, callback_on_step_end_tensor_inputs=["prompt_embeds"])


# ------------------------------------------------------------------------------------------------- batch
def test_batch_equals_single(pipe, speech):
    batch = run(pipe, speech, emotion=["happy", "sad"], generator=[seed(3), seed(4)])
    assert isinstance(batch.motion, list) and len(batch.motion) == 2 and len(batch.emotion_track) == 2
    assert batch.emotion_conditioning.batch_size == 2
    for motion, emotion, g in zip(batch.motion, ["happy", "sad"], [3, 4], strict=True):
        single = run(pipe, speech, emotion=emotion, generator=seed(g))
        torch.testing.assert_close(flat(motion), flat(single.motion), atol=1e-4, rtol=0)
    per_prompt = run(pipe, speech, emotion="happy", num_videos_per_prompt=2, generator=[seed(3), seed(5)])
    torch.testing.assert_close(flat(per_prompt.motion[0]), flat(batch.motion[0]), atol=1e-4, rtol=0)
    assert not torch.allclose(flat(per_prompt.motion[0]), flat(per_prompt.motion[1]), atol=1e-3)
    with pytest.raises(ValueError, match="list of 3"):
        run(pipe, speech, emotion=["happy", "sad"], generator=[seed(0)] * 3)


def test_bf16_runs_without_nan(speech, make_tiny_talking_head):
    pipe = make_tiny_talking_head().to(torch.bfloat16)
    assert pipe.motion_denoiser.dtype == torch.bfloat16
    out = run(pipe, speech)
    assert torch.isfinite(flat(out.motion)).all() and out.motion.dtype == torch.float32
    assert out.emotion_conditioning.embeds.dtype == torch.bfloat16


# ------------------------------------------------------------------------------------------------- emotion sources
def test_audio_without_emotion_follows_the_diarized_voice(pipe, speech):
    out = run(pipe, speech, emotion=None)
    segments = diarize(speech, SAMPLE_RATE).to_track(fps=25.0, mode="segments")
    expected = smooth_track(segments).resample(fps=25.0, num_frames=out.motion.num_frames)  # emotion_dynamics
    torch.testing.assert_close(out.emotion_track.probs, expected.probs)
    torch.testing.assert_close(out.emotion_track.vad, expected.vad)
    torch.testing.assert_close(out.emotion_conditioning.embeds, pipe.encode_emotion(expected).embeds)
    steps = run(pipe, speech, emotion=None, emotion_dynamics=None)
    torch.testing.assert_close(
        steps.emotion_track.vad, segments.resample(fps=25.0, num_frames=out.motion.num_frames).vad
    )
    neutral = run(pipe, speech, emotion="neutral")
    assert not torch.equal(neutral.emotion_conditioning.embeds, out.emotion_conditioning.embeds)


def test_text_speaks_and_uses_its_tags(pipe):
    out = pipe(text="[sad] Oh no.", num_inference_steps=2, output_type="motion", generator=seed(0))
    assert out.phones and out.sample_rate == EspeakTTS().sample_rate
    assert out.motion.num_frames == round(len(out.audio) / out.sample_rate * 25)
    assert set(out.emotion_track.top_label()) == {"sad"}


def test_spoken_emotion_changes_through_dynamics(pipe):
    text = "[happy] We won the match today! [sad] But Sam got hurt."
    kw = dict(text=text, num_inference_steps=2, output_type="motion", generator=seed(0))
    steps = pipe(**kw, emotion_dynamics=None).emotion_track
    smooth = pipe(**kw).emotion_track
    jump = lambda t: (t.vad[1:] - t.vad[:-1]).abs().max()  # noqa: E731
    assert jump(steps) > 0.5  # the voice's sentence boundary: one frame from happy to sad
    assert jump(smooth) < 0.25 * jump(steps)
    labels = smooth.top_label()
    assert labels[0] == "happy" and labels[-1] == "sad"
    # τ = 0.35 s: two thirds of the step after 9 frames (0.36 s) of the boundary
    k = int((steps.vad[1:, 0] - steps.vad[:-1, 0]).abs().argmax()) + 1
    frac = (smooth.vad[k + 9, 0] - steps.vad[k - 1, 0]) / (steps.vad[k, 0] - steps.vad[k - 1, 0])
    assert 0.55 < float(frac) < 0.75
    with pytest.raises(ValueError, match="Unknown dynamics 'bouncy'"):
        pipe(**kw, emotion_dynamics="bouncy")


# ------------------------------------------------------------------------------------------------- motion controls
def test_head_scale_blinks_and_gaze(pipe, speech):
    still = run(pipe, speech, head_motion_scale=0.0, blink_rate=0, gaze="model")
    moving = run(pipe, speech, head_motion_scale=2.0, blink_rate=0, gaze="model")
    base = run(pipe, speech, blink_rate=0, gaze="model")
    assert still.motion.head_rotation.abs().max() == 0 and still.motion.head_translation.abs().max() == 0
    torch.testing.assert_close(moving.motion.head_rotation, 2 * base.motion.head_rotation)

    blink = ARKIT_INDEX["eyeBlinkLeft"]
    blinking = run(pipe, speech, blink_rate=60, gaze="model")  # first blink starts within the first second
    # a blink closes the lid (its peak falls between frames: sampled at 25 fps it reads 0.8-1.0)
    assert blinking.motion.blendshapes[:, blink].max() > 0.75 > base.motion.blendshapes[:, blink].max()
    other = run(pipe, speech, blink_rate=60, gaze="model", generator=seed(7))
    assert not torch.equal(blinking.motion.blendshapes[:, blink], other.motion.blendshapes[:, blink])

    camera = run(pipe, speech, gaze="camera", blink_rate=0).motion
    torch.testing.assert_close(camera.gaze, -camera.head_rotation[:, [1, 0]])
    looks = [i for n, i in ARKIT_INDEX.items() if n.startswith("eyeLook")]
    assert camera.blendshapes[:, looks].abs().max() == 0
    fixed = run(pipe, speech, gaze=(0.2, -0.1), head_motion_scale=0, blink_rate=0).motion
    torch.testing.assert_close(fixed.gaze, torch.tensor([0.2, -0.1]).expand(fixed.num_frames, -1))
    saccades = run(pipe, speech, gaze=None, blink_rate=0).motion
    assert not torch.equal(saccades.gaze, base.motion.gaze)


# ------------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"image": None, "output_type": "np"}, "image"),
        ({"text": "Hello."}, "exactly one"),
        ({"audio": None}, "exactly one"),
        ({"audio": None, "text": "   "}, "text is empty"),
        ({"emotion": "happpy"}, "Unknown emotion label 'happpy'"),
        ({"blink_rate": -1}, "blink_rate"),
        ({"output_type": "gif"}, "output_type"),
        ({"gaze": "left"}, "gaze"),
        ({"fps": 0}, "fps"),
        ({"height": 8, "output_type": "np", "image": np.zeros((64, 64, 3), np.uint8)}, "height"),
        ({"head_motion_scale": -1.0}, "head_motion_scale"),
        ({"num_inference_steps": 0}, "num_inference_steps"),
        ({"audio": None, "text": "Hi.", "emotion": ["happy", "sad"]}, "list of emotions"),
        ({"emotion": []}, "empty list"),
    ],
)
def test_bad_inputs_raise_clear_errors(pipe, speech, kwargs, match):
    with pytest.raises(ValueError, match=match):
        run(pipe, speech, **kwargs)


def test_bad_types(pipe, speech):
    with pytest.raises(TypeError, match="EmotionConditioning"):
        run(pipe, speech, emotion=None, emotion_conditioning={"embeds": 1})
    with pytest.raises(TypeError, match="text must be a string"):
        run(pipe, speech, audio=None, text=42)


# ------------------------------------------------------------------------------------------------- rendering
def test_renders_frames_on_the_astronaut(pipe, speech):
    from skimage.data import astronaut

    audio = speech[: int(0.24 * SAMPLE_RATE)]  # 6 frames
    out = run(pipe, audio, image=astronaut(), output_type="np", height=96, width=128, head_motion_scale=0.2)
    assert out.frames.shape == (6, 96, 128, 3) and out.frames.dtype == np.uint8
    assert out.frames.std() > 20  # a photo, not a blank
    assert np.abs(out.frames[1:].astype(int) - out.frames[:-1]).mean() > 0.05  # it moves
    sq = run(pipe, audio, image=astronaut(), output_type="pt", height=128, fps=12.5, num_inference_steps=1)
    assert isinstance(sq.frames, torch.Tensor) and tuple(sq.frames.shape) == (3, 128, 128, 3)
    import imageio.v3 as iio

    iio.imwrite("/tmp/test_talking_head_frames.png", np.concatenate(list(out.frames[::2]), axis=1))


# ------------------------------------------------------------------------------------------------- shipped weights
def test_shipped_default_speaks_with_moving_jaw():
    start = time.perf_counter()
    pipe = EmoTalkingHeadPipeline.from_pretrained()
    pipe.set_progress_bar_config(disable=True)
    assert isinstance(pipe.motion_denoiser, MotionDenoiser) and pipe.motion_denoiser.config.fps == 25
    out = pipe(
        text="Hello there, how are you?",
        emotion="happy",
        num_inference_steps=10,
        output_type="motion",
        generator=seed(0),
    )
    jaw = out.motion.blendshape("jawOpen")
    assert jaw.std() > 0.05 and jaw.max() > 0.2 and jaw.min() < 0.1
    smile = out.motion.blendshape("mouthSmileLeft").mean()
    sad = pipe(text="Hello there, how are you?", emotion="sad", num_inference_steps=10, output_type="motion",
               generator=seed(0))  # fmt: skip
    assert smile > sad.motion.blendshape("mouthSmileLeft").mean() + 0.1
    assert EmoTalkingHeadPipeline.from_pretrained(None).motion_denoiser.config == pipe.motion_denoiser.config
    assert time.perf_counter() - start < 60 and math.isfinite(float(jaw.mean()))


def test_text_lips_follow_the_phone_timings(pipe):
    """With text, lips and jaw come from the TTS phone timings: open on vowels, closed in the final pause."""
    from emogen.arkit import arkit_index

    text = "Papa, open the window."
    out = pipe(text=text, num_inference_steps=2, output_type="motion", generator=seed(0), blink_rate=0)
    jaw = out.motion.blendshape("jawOpen")
    assert jaw.max() > 0.2 and jaw[-3:].max() < 0.05
    closed = pipe(text=text, num_inference_steps=2, output_type="motion", generator=seed(0), blink_rate=0,
                  articulation=0.0)  # fmt: skip
    assert closed.motion.blendshape("jawOpen").max() < 0.05  # neutral emotion, no visemes: the mouth stays shut
    model = pipe(text=text, num_inference_steps=2, output_type="motion", generator=seed(0), blink_rate=0,
                 lip_sync="model")  # fmt: skip
    n = min(len(jaw), model.motion.num_frames)  # espeak-ng's length varies by a few ms between calls
    assert not torch.allclose(model.motion.blendshapes[:n, arkit_index("jawOpen")], jaw[:n])
    with pytest.raises(ValueError, match="articulation"):
        pipe(text=text, output_type="motion", articulation=-1)
    with pytest.raises(ValueError, match="lip_sync"):
        pipe(audio=np.zeros(16000, np.float32), output_type="motion", lip_sync="phones")
