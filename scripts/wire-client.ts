// Appends to a running catena cluster straight over the wire protocol, with none of the client
// library (no promise per append, no retries, no latency histogram): what the nodes alone give,
// to set beside `catena bench` and see the client library's share (docs/benchmarks.md, "The bare
// chain"). `bun scripts/wire-client.ts [--master URL] [--clients 2] [--inflight 50] [--seconds 5]`
// prints appends/s. Each client sends its appends as one APPEND frame per acknowledgement, as the
// library packs them; it stops at the first error.

import { parseArgs } from "node:util";
import { FrameParser, PROTOCOL_VERSION } from "../src/protocol/frame.ts";
import { FrameType, PeerKind, decodeAppendOk, decodeError, encodeAppend, encodeHello, encodeWatchAcks } from "../src/protocol/messages.ts";
import { fetchCluster } from "../src/client/cluster.ts";
import { randomClientId } from "../src/client/client.ts";

const { values: opts } = parseArgs({
  options: {
    master: { type: "string", default: "http://127.0.0.1:7100" },
    clients: { type: "string", default: "2" }, inflight: { type: "string", default: "50" }, seconds: { type: "string", default: "5" },
  },
});

const doc = await fetchCluster(opts.master!);
const chain = doc.chains[0];
if (!chain?.head || !chain.tail) throw new Error("the cluster has no chain with a head and a tail yet");
const addressOf = (id: string) => {
  const [hostname, port] = doc.nodes.find((n) => n.id === id)!.clientAddr.split(":");
  return { hostname, port: Number(port) };
};
const hello = encodeHello(0, { version: PROTOCOL_VERSION, kind: PeerKind.client, chainId: 0, epoch: 0, commitEnd: 0, nodeId: "", token: "" });
const payload = new Uint8Array(100);
let acked = 0;
let measuring = false;

function fail(type: number, frame: Uint8Array): void {
  if (type !== FrameType.error) return;
  console.error(`the cluster refused: ${decodeError(frame).message}`);
  process.exit(1);
}

for (let c = 0; c < Number(opts.clients); c++) {
  const clientId = randomClientId();
  let requestId = 1;
  const headParser = new FrameParser(1 << 24, { frame: (type, _id, frame) => fail(type, frame) });
  const head = await Bun.connect({ ...addressOf(chain.head), socket: { data: (_s, chunk) => void headParser.push(chunk) } });
  head.setNoDelay(true);
  head.write(hello);
  const send = (n: number): void => {
    const frame = encodeAppend(1, { chainId: chain.chainId, clientId, firstRequestId: requestId, payloads: new Array(n).fill(payload) });
    if (head.write(frame) !== frame.length) {
      console.error("the socket took only part of an APPEND frame; this script keeps no queue");
      process.exit(1);
    }
    requestId += n;
  };
  const tailParser = new FrameParser(1 << 24, {
    frame(type, _id, frame) {
      if (type !== FrameType.appendOk) return fail(type, frame);
      let n = 0;
      for (const run of decodeAppendOk(frame)) n += run.count;
      if (measuring) acked += n;
      send(n);
    },
  });
  const tail = await Bun.connect({ ...addressOf(chain.tail), socket: { data: (_s, chunk) => void tailParser.push(chunk) } });
  tail.setNoDelay(true);
  tail.write(hello);
  tail.write(encodeWatchAcks(2, { chainId: chain.chainId, clientId }));
  await Bun.sleep(100);
  send(Number(opts.inflight));
}
await Bun.sleep(1000);
measuring = true;
const started = performance.now();
await Bun.sleep(Number(opts.seconds) * 1000);
console.log(`wire client, ${opts.clients} x ${opts.inflight} in flight: ${Math.round(acked / ((performance.now() - started) / 1000))} appends/s`);
process.exit(0);
