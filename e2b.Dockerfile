# The sandbox a session's agent works in: opencode, Claude Code's and Codex's ACP agents (the same
# versions as the project's dev dependencies, checked by `npm run template:build`), git, and the
# runtimes common repositories need.
FROM node:20-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates curl python3 python3-pip python3-venv build-essential ripgrep \
 && rm -rf /var/lib/apt/lists/*

RUN npm install -g opencode-ai@1.18.33

# The agents of the other runtimes, at the project's versions (checked by `npm run template:build`),
# and the bridge that carries their Agent Client Protocol over HTTP (docs/runtimes.md).
RUN npm install -g @zed-industries/claude-code-acp@0.16.2 @zed-industries/codex-acp@0.16.0
COPY agents/acp-bridge.mjs /opt/agents/acp-bridge.mjs

WORKDIR /home/user

# opencode installs its plugin package into ~/.config/opencode at its first start, from the
# registry, in every sandbox; installed here once instead. Writable by whichever user the sandbox
# runs as (the session writes skills beside it, opencode its lock file).
RUN mkdir -p /home/user/.config/opencode \
 && cd /home/user/.config/opencode \
 && printf 'node_modules\npackage.json\npackage-lock.json\nbun.lock\n.gitignore' > .gitignore \
 && npm install --save-exact --ignore-scripts --no-audit --no-fund @opencode-ai/plugin@1.18.33 \
 && chmod -R a+rwX /home/user/.config
