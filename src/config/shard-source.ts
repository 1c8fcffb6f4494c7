/**
 * The config source isolates use (issue 20): version checks and snapshots
 * come from the isolate's config shard (`ShardDO` `config:<bucket>`), which
 * asks D1 for the version at most once a second and gets a changed snapshot
 * from the root shard, so D1's load does not grow with the number of
 * isolates. `direct` (D1 itself) serves the check right after this isolate's
 * own write, so a write is in force on the isolate that made it at once
 * (the shard may still hold the older version for up to a second).
 *
 * A shard that fails (throwing, overloaded, evicted mid-call) is not a new
 * way to lose config: the same check goes to D1 directly, so availability
 * is what it was before shards (only D1 failing leaves an isolate on its
 * last snapshot, and a cold one without config).
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
  const direct = d1ConfigSource(env);
  let seen: number | undefined;
  const version = async (): Promise<number> => {
    try {
      const answer = await shard().configVersion(isolateId());
      setEstimatedIsolates(answer.isolates);
      seen = answer.version;
      return answer.version;
    } catch {
      return direct.version();
    }
  };
  return {
    version,
    async load(): Promise<ConfigSnapshot> {
      if (seen === undefined) await version();
      if (seen === undefined) return direct.load(); // the shard did not answer the version either
      try {
        return (await shard().configSnapshot(seen, false)) as ConfigSnapshot;
      } catch {
        return direct.load();
      }
    },
    direct,
  };
}
