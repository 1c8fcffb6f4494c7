/**
 * The config source isolates use (issue 20): version checks and snapshots
 * come from the isolate's config shard (`ShardDO` `config:<bucket>`), which
 * asks D1 for the version at most once a second and gets a changed snapshot
 * from the root shard, so D1's load does not grow with the number of
 * isolates. `direct` (D1 itself) serves the check right after this isolate's
 * own write, so a write is in force on the isolate that made it at once
 * (the shard may still hold the older version for up to a second).
 */

import type { Bindings } from "../env";
import { shardObject } from "../stubs";
import { isolateId, setEstimatedIsolates } from "../util/isolate";
import { configShardName, shardIndex } from "../util/shard-policy";
import type { ConfigSource } from "./cache";
import { d1ConfigSource } from "./d1-source";
import type { ConfigSnapshot } from "./snapshot";

type SourceEnv = Parameters<typeof d1ConfigSource>[0] & Pick<Bindings, "SHARD">;

/** The sharded source for one request (the version it read is what its load asks for). */
export function shardConfigSource(env: SourceEnv): ConfigSource {
  const shard = () => shardObject(env, configShardName(shardIndex(isolateId())));
  let seen: number | undefined;
  const version = async (): Promise<number> => {
    const answer = await shard().configVersion(isolateId());
    setEstimatedIsolates(answer.isolates);
    seen = answer.version;
    return answer.version;
  };
  return {
    version,
    async load(): Promise<ConfigSnapshot> {
      const v = seen ?? (await version());
      return (await shard().configSnapshot(v, false)) as ConfigSnapshot;
    },
    direct: d1ConfigSource(env),
  };
}
