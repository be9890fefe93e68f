"""bubblecast GPU worker on Modal: the Dockerfile.gpu image behind a Modal web endpoint on an A10G.

Modal runs Python functions, so this file only starts the Node server (gpu-worker/server/main.ts) inside the
image and lets @modal.web_server route HTTP to its port. Commands (see gpu-worker/deploy/README.md):

    docker build -f Dockerfile.gpu -t ghcr.io/OWNER/bubblecast-gpu-worker:TAG . && docker push ghcr.io/OWNER/bubblecast-gpu-worker:TAG
    modal secret create bubblecast-gpu-worker GPU_WORKER_TOKEN="$(openssl rand -hex 24)"
    BUBBLECAST_GPU_IMAGE=ghcr.io/OWNER/bubblecast-gpu-worker:TAG modal deploy gpu-worker/deploy/modal_app.py

Job state lives in the one Node process, so max_containers=1 keeps every request of a job on the same container;
a poll that reaches a fresh container gets 404 and the client resubmits once, then falls back to the CPU.
Untested here (no Modal account on the build machine): check `modal deploy` output and GET /health once.
"""

import os
import subprocess

import modal

IMAGE = os.environ.get("BUBBLECAST_GPU_IMAGE", "ghcr.io/OWNER/bubblecast-gpu-worker:latest")
PORT = 8080

# add_python: Modal's own runtime needs a Python in the image; the worker itself is Node.
# For a private registry add: secret=modal.Secret.from_name("ghcr-pull")  (REGISTRY_USERNAME / REGISTRY_PASSWORD).
image = modal.Image.from_registry(IMAGE, add_python="3.12")

app = modal.App("bubblecast-gpu-worker")


@app.function(
    image=image,
    gpu="A10G",
    secrets=[modal.Secret.from_name("bubblecast-gpu-worker")],  # GPU_WORKER_TOKEN (+ any GPU_WORKER_* overrides)
    # One container: job state is in-process (see above). Concurrency inside it is the worker's own queue.
    max_containers=1,
    # Idle this long after the last request, then scale to zero (Modal allows 2 s .. 20 min; default 60 s).
    # Long enough that a pipeline's poll → download sequence never lands on a cold, empty container.
    scaledown_window=300,
)
# Many short requests (polls, uploads, downloads) must share the single container instead of queueing for it.
@modal.concurrent(max_inputs=64)
# The port opens at once (models load after listening; /health says "starting" meanwhile).
@modal.web_server(PORT, startup_timeout=120, label="bubblecast-gpu-worker")
def serve() -> None:
    env = {
        **os.environ,
        "PORT": str(PORT),
        "HOST": "0.0.0.0",
        "ORT_PROVIDERS": os.environ.get("ORT_PROVIDERS", "cuda,cpu"),
        "GPU_WORKER_WORK_DIR": os.environ.get("GPU_WORKER_WORK_DIR", "/tmp/bubblecast-gpu-worker"),
    }
    # Same entry as the image's CMD and `npm run gpu-worker`.
    subprocess.Popen(["node", "--import", "tsx", "gpu-worker/server/main.ts"], cwd="/app", env=env)
