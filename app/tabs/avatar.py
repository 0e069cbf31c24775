"""The Avatar tab: a rigged 3D head from a portrait, speaking or silent with an emotion → the GLB in a 3D viewer, a
rendered video and downloads (glb, mp4, wav, ARKit curves as CSV). API endpoint ``/avatar``."""

from __future__ import annotations

from emogen.pipelines.defaults import DEFAULTS

from ..controls import EmotionControls, emotion_inputs
from .common import check_uploads, example_portraits, portrait, user_errors

__all__ = ["build"]

EXAMPLE_TEXT = "[happy] Hello! I am a 3D head made from one photo. [surprised] I can even talk!"
EXAMPLE_TIMELINE = "0s neutral, 0.8s happy, 2.2s surprised:0.8"


def build(gr, avatar_pipe, out_dir, example_audio: str | None = None) -> None:
    """Add the tab's widgets to the current Blocks, wired to ``avatar_pipe`` (an ``EmoHeadAvatarPipeline``)."""
    from emogen.export import write_curves, write_glb, write_video, write_wav

    def render_avatar(
        image=None, text=None, audio_path=None, emotion_from="Timeline", label="happy", intensity=1.0, valence=0.6,
        arousal=0.4, dominance=0.2, timeline=EXAMPLE_TIMELINE, dynamics=DEFAULTS.emotion_dynamics, duration=0.0,
        yaw=0.0, pitch=0.0, seed=DEFAULTS.seed, size=DEFAULTS.size,
        progress=gr.Progress(track_tqdm=True),  # noqa: B008 (gradio's idiom)
    ):  # fmt: skip
        """Build a rigged 3D head (52 ARKit morph targets) from the portrait (default: the astronaut), animate it
        speaking the text or the audio file (neither: silent for ``duration`` seconds) with the emotion, and return
        the GLB, a video rendered from ``yaw``/``pitch`` degrees, and the files (glb, mp4, wav, ARKit CSV)."""
        import torch

        spoken = text if text and text.strip() and not audio_path else None
        controls = EmotionControls(emotion_from, label, float(intensity), float(valence), float(arousal),
                                   float(dominance), timeline or "")  # fmt: skip
        with user_errors(gr):
            check_uploads(image, audio_path)
            if emotion_from == "From the voice" and not audio_path:
                raise ValueError("'From the voice' needs an audio file.")
            spec = controls.spec(spoken)
            result = avatar_pipe(
                portrait(image), text=spoken, audio=audio_path or None, emotion=spec, emotion_dynamics=dynamics,
                duration=None if spoken or audio_path or not duration else float(duration), size=int(size),
                yaw=float(yaw), pitch=float(pitch), generator=torch.Generator().manual_seed(int(seed)),
            )  # fmt: skip
        out = out_dir()
        glb = write_glb(out / "avatar.glb", result.avatar, result.motion)
        sound = result.audio if len(result.audio) else None
        video = write_video(out / "avatar.mp4", result.frames, fps=result.motion.fps, audio=sound,
                            sample_rate=result.sample_rate)  # fmt: skip
        files = [glb, video, write_curves(out / "arkit_curves.csv", result.motion)]
        if sound is not None:
            files.append(write_wav(out / "avatar.wav", result.audio, result.sample_rate))
        return str(glb), str(video), [str(f) for f in files]

    with gr.Tab("Avatar", id="avatar"):
        gr.Markdown("A rigged 3D head from one photo (52 ARKit morph targets, eyes, teeth, a neck joint), speaking "
                    "or silent. The GLB opens in Blender, Unity, three.js — and in the viewer here (drag to "
                    "turn).")  # fmt: skip
        with gr.Row():
            with gr.Column():
                image = gr.Image(label="Portrait (empty: the public-domain astronaut)", type="numpy",
                                 elem_id="avatar-image")  # fmt: skip
                text = gr.Textbox(label="Text to speak (empty: a silent avatar)", value=EXAMPLE_TEXT, lines=2,
                                  elem_id="avatar-text")  # fmt: skip
                audio = gr.Audio(label="…or an audio file (replaces the text)", type="filepath")
                duration = gr.Slider(0, 30, value=0, step=0.5, label="Duration when silent (s; 0: the timeline's own)")
                emotion = emotion_inputs(gr, mode="Timeline", timeline=EXAMPLE_TIMELINE, elem_prefix="avatar")
                with gr.Accordion("Camera and settings", open=False):
                    with gr.Row():
                        yaw = gr.Slider(-180, 180, value=0, step=5, label="Video camera yaw (°)")
                        pitch = gr.Slider(-89, 89, value=0, step=1, label="Video camera pitch (°)")
                    seed = gr.Number(value=DEFAULTS.seed, precision=0, label="Seed")
                    size = gr.Slider(64, 1024, value=DEFAULTS.size, step=32, label="Video size (px)",
                                     elem_id="avatar-size")  # fmt: skip
                go = gr.Button("Build the avatar", variant="primary", elem_id="avatar-go")
            with gr.Column():
                model = gr.Model3D(label="3D head (GLB with its animation)", clear_color=(0.92, 0.92, 0.94, 1.0),
                                   height=420, elem_id="avatar-model")  # fmt: skip
                video = gr.Video(label="Rendered video", autoplay=True, elem_id="avatar-video")
                files = gr.File(label="Downloads", file_count="multiple", elem_id="avatar-files")
        examples = [[None, EXAMPLE_TEXT, None, "Timeline", 0.0], [None, "", None, "Timeline", 3.0]]
        labels = ["Astronaut, speaking", "Astronaut, silent through a timeline"]
        for path in example_portraits()[1:]:
            examples.append([path, "[sad] I really thought this would work.", None, "From the text", 0.0])
            labels.append("Grace Hopper, sad")
        if example_audio:
            examples.append([None, "", example_audio, "From the voice", 0.0])
            labels.append("A recording, emotion from the voice")
        gr.Examples(examples, [image, text, audio, emotion.mode, duration], example_labels=labels)
        inputs = [image, text, audio, *emotion.values, emotion.dynamics, duration, yaw, pitch, seed, size]
        go.click(render_avatar, inputs, [model, video, files], api_name="avatar", concurrency_id="render")
