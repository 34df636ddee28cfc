# Template for E2B sandboxes: opencode at the same version as the project's dev dependency,
# git, and common runtimes. Not built or used yet: the E2B provider is still to come.
FROM e2bdev/code-interpreter:latest

RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates curl python3 python3-pip build-essential \
 && rm -rf /var/lib/apt/lists/*

RUN npm install -g opencode-ai@1.18.33

WORKDIR /home/user/workspace
