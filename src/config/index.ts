export { type Address, dialableAddress, formatAddress, parseAddress, type ParseAddressOptions } from "./address.ts";
export { ConfigError } from "./errors.ts";
export { FRAME_HEADER_ROOM_BYTES, GiB, KiB, type Limits, MiB, RECORD_BYTES_MIN, SEGMENT_HEADER_ROOM_BYTES } from "./limits.ts";
export {
  DEFAULT_MASTER_CONFIG_PATH,
  loadMasterConfig,
  type MasterConfig,
  masterUrlFromConfigFile,
  parseMasterConfig,
} from "./master.ts";
export { loadNodeConfig, type NodeConfig, NODE_ID_PATTERN, parseNodeConfig, SYNC_POLICIES, type SyncPolicy } from "./node.ts";
export { type AuthTokens, certificateNames, type TlsMaterial } from "./security.ts";
