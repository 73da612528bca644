import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
const nc = await connect({ servers: "127.0.0.1:34222" });
const jsm = await jetstreamManager(nc, { checkAPI: false });
await jsm.streams.add({ name: "S", subjects: ["s"], storage: StorageType.File });
const js = jetstream(nc);
const end = Date.now() + 150_000;
let n = 0;
while (Date.now() < end) { await js.publish("s", new Uint8Array(100)); n++; await Bun.sleep(200); }
console.log("published", n); await nc.close();
