# The sandbox a session's agent works in: opencode (the same version as the project's dev
# dependency, checked by `npm run template:build`), git, and the runtimes common repositories need.
FROM node:20-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates curl python3 python3-pip python3-venv build-essential ripgrep \
 && rm -rf /var/lib/apt/lists/*

RUN npm install -g opencode-ai@1.18.33

WORKDIR /home/user
