//! The registry in Redis: leases, room ownership, matchmaking.
//!
//! Keys (all under `snapwire:`):
//! - `proc:{id}`: a hash (url, mode, capacity, room_capacity, ready, load)
//!   with a lease (`PEXPIRE`), renewed by its process;
//! - `procs:{mode}`: a sorted set of the ready processes of a mode, scored
//!   by lease end, so that a dead process's entry is ignored (and pruned)
//!   once its lease is over even though nobody deleted it;
//! - `room:{id}`: a hash (owner, mode, players, capacity) with the owner's
//!   lease, and `room:{id}:pending`, the reservations not yet used, scored
//!   by expiry;
//! - `claims:{id}`: rooms matchmaking gave a process before their first
//!   player arrived; the process renews them while they have reservations
//!   pending, so every room lives only as long as its owner renews it;
//! - `rooms:{mode}`: a sorted set of the rooms of a mode, scored by lease end;
//! - `next-room`: the source of new room ids; `seat-key`: the key every
//!   process signs reservations with.
//!
//! Every change that two processes could race on is one Lua script, run
//! atomically by Redis, with Redis's own clock (`TIME`): a room has at
//! most one owner, and nothing depends on the processes' clocks agreeing.

use super::{ClusterConfig, MatchError};
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use snapwire_shared::RoomId;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// What the scripts share: the key prefix, and giving up a room this
/// process owns (nothing happens to another process's room).
macro_rules! prelude {
    () => {
        r"
local P = 'snapwire:'
local function give_up(pid, mode, id)
  local rk = P .. 'room:' .. id
  if redis.call('HGET', rk, 'owner') == pid then
    redis.call('DEL', rk, rk .. ':pending')
    redis.call('ZREM', P .. 'rooms:' .. mode, id)
  end
end
"
    };
}

/// Renews this process's registration and its rooms' leases. A room that
/// is nobody's (the registry was restarted, or the lease ran out while
/// this process was frozen and nobody took the room) is claimed again; a
/// room that another process owns now is reported lost. Also gives up the
/// rooms this process no longer has, and sets the seat key if none is set.
///
/// ARGV: id, lease ms, url, mode, capacity, room capacity, ready (0/1),
/// seat key candidate, room count, then (room, players, used seat ids
/// joined by commas) per room, then the count and ids of rooms given up.
/// Returns {seat key, {lost room ids}}.
const RENEW: &str = concat!(
    prelude!(),
    r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pid, lease, url, mode = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local capacity, room_capacity, ready, key = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local seat_key = redis.call('SET', P .. 'seat-key', key, 'NX', 'GET')
if not seat_key then seat_key = key end
local lost = {}
local load = 0
local here = {}
local i = 10
for _ = 1, tonumber(ARGV[9]) do
  local id, players, used = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  here[id] = true
  i = i + 3
  local rk = P .. 'room:' .. id
  local pk = rk .. ':pending'
  local owner = redis.call('HGET', rk, 'owner')
  if owner == false or owner == pid then
    redis.call('HSET', rk, 'owner', pid, 'mode', mode, 'players', players, 'capacity', room_capacity)
    for jti in string.gmatch(used, '[^,]+') do redis.call('ZREM', pk, jti) end
    redis.call('ZREMRANGEBYSCORE', pk, '-inf', now)
    redis.call('PEXPIRE', rk, lease)
    if redis.call('EXISTS', pk) == 1 then redis.call('PEXPIRE', pk, lease) end
    redis.call('ZADD', P .. 'rooms:' .. mode, now + lease, id)
    load = load + tonumber(players) + redis.call('ZCARD', pk)
  else
    table.insert(lost, id)
  end
end
local released = tonumber(ARGV[i])
i = i + 1
for _ = 1, released do
  give_up(pid, mode, ARGV[i])
  i = i + 1
end
local ck = P .. 'claims:' .. pid
for _, id in ipairs(redis.call('SMEMBERS', ck)) do
  local rk = P .. 'room:' .. id
  local pk = rk .. ':pending'
  if here[id] or redis.call('HGET', rk, 'owner') ~= pid then
    redis.call('SREM', ck, id)
  else
    redis.call('ZREMRANGEBYSCORE', pk, '-inf', now)
    local waiting = redis.call('ZCARD', pk)
    if waiting > 0 then
      redis.call('PEXPIRE', rk, lease)
      redis.call('PEXPIRE', pk, lease)
      redis.call('ZADD', P .. 'rooms:' .. mode, now + lease, id)
      load = load + waiting
    else
      redis.call('DEL', rk, pk)
      redis.call('ZREM', P .. 'rooms:' .. mode, id)
      redis.call('SREM', ck, id)
    end
  end
end
redis.call('PEXPIRE', ck, lease)
local pk = P .. 'proc:' .. pid
redis.call('HSET', pk, 'url', url, 'mode', mode, 'capacity', capacity, 'room_capacity', room_capacity, 'ready', ready, 'load', load)
redis.call('PEXPIRE', pk, lease)
if ready == '1' then
  redis.call('ZADD', P .. 'procs:' .. mode, now + lease, pid)
else
  redis.call('ZREM', P .. 'procs:' .. mode, pid)
end
return {seat_key, lost}
"
);

/// Takes this process and its rooms out of the registry (a drain).
/// ARGV: id, mode, then its room ids.
const LEAVE: &str = concat!(
    prelude!(),
    r"
local pid, mode = ARGV[1], ARGV[2]
redis.call('DEL', P .. 'proc:' .. pid)
redis.call('ZREM', P .. 'procs:' .. mode, pid)
local ids = redis.call('SMEMBERS', P .. 'claims:' .. pid)
for i = 3, #ARGV do table.insert(ids, ARGV[i]) end
for _, id in ipairs(ids) do give_up(pid, mode, id) end
redis.call('DEL', P .. 'claims:' .. pid)
return 1
"
);

/// Finds a seat: in the room asked for (created on the least-loaded ready
/// process of the mode if nobody owns it), or in any room of the mode
/// with a free seat, or in a new room. Reserves it under the seat id.
///
/// ARGV: mode, room id or '', seat id, reservation ttl ms, lease ms.
/// Returns {'ok', owner, url, room} or {'full'}, {'none'}, {'mode'}.
const MATCHMAKE: &str = concat!(
    prelude!(),
    r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mode, want, jti = ARGV[1], ARGV[2], ARGV[3]
local ttl, lease = tonumber(ARGV[4]), tonumber(ARGV[5])
local function owner_url(pid)
  local v = redis.call('HMGET', P .. 'proc:' .. pid, 'url', 'ready', 'mode')
  if v[1] and v[2] == '1' and v[3] == mode then return v[1] end
  return false
end
local function seat(rk, id, pid, url)
  local pk = rk .. ':pending'
  redis.call('ZREMRANGEBYSCORE', pk, '-inf', now)
  local h = redis.call('HMGET', rk, 'players', 'capacity')
  if tonumber(h[1] or '0') + redis.call('ZCARD', pk) >= tonumber(h[2] or '0') then return false end
  redis.call('ZADD', pk, now + ttl, jti)
  redis.call('PEXPIRE', pk, math.max(1, redis.call('PTTL', rk)))
  redis.call('HINCRBY', P .. 'proc:' .. pid, 'load', 1)
  return {'ok', pid, url, id}
end
local function create(id)
  local procs = P .. 'procs:' .. mode
  redis.call('ZREMRANGEBYSCORE', procs, '-inf', now)
  local best, best_url, best_load, best_cap
  for _, pid in ipairs(redis.call('ZRANGE', procs, 0, -1)) do
    local v = redis.call('HMGET', P .. 'proc:' .. pid, 'url', 'ready', 'load', 'capacity', 'room_capacity')
    if v[1] and v[2] == '1' then
      local load = tonumber(v[3] or '0') / math.max(1, tonumber(v[4] or '1'))
      if best == nil or load < best_load then
        best, best_url, best_load, best_cap = pid, v[1], load, v[5]
      end
    end
  end
  if best == nil then return {'none'} end
  local rk = P .. 'room:' .. id
  redis.call('DEL', rk, rk .. ':pending')
  redis.call('HSET', rk, 'owner', best, 'mode', mode, 'players', 0, 'capacity', best_cap)
  -- The owner's lease from now on: it renews the claim while the
  -- reservation is pending, and the room once the player is in.
  redis.call('PEXPIRE', rk, lease)
  redis.call('ZADD', P .. 'rooms:' .. mode, now + lease, id)
  redis.call('SADD', P .. 'claims:' .. best, id)
  redis.call('PEXPIRE', P .. 'claims:' .. best, lease)
  return seat(rk, id, best, best_url) or {'full'}
end
if want ~= '' then
  local rk = P .. 'room:' .. want
  local h = redis.call('HMGET', rk, 'owner', 'mode')
  if h[1] then
    if h[2] ~= mode then return {'mode'} end
    local url = owner_url(h[1])
    if url then return seat(rk, want, h[1], url) or {'full'} end
  end
  return create(want)
end
local rooms = P .. 'rooms:' .. mode
redis.call('ZREMRANGEBYSCORE', rooms, '-inf', now)
for _, id in ipairs(redis.call('ZRANGE', rooms, 0, 199)) do
  local rk = P .. 'room:' .. id
  local owner = redis.call('HGET', rk, 'owner')
  if owner then
    local url = owner_url(owner)
    if url then
      local r = seat(rk, id, owner, url)
      if r then return r end
    end
  else
    redis.call('ZREM', rooms, id)
  end
end
for _ = 1, 100 do
  local id = tostring(redis.call('INCR', P .. 'next-room'))
  if redis.call('EXISTS', P .. 'room:' .. id) == 0 then return create(id) end
end
return {'none'}
"
);

/// What one process keeps of the registry.
pub(super) struct Registry {
    conn: ConnectionManager,
    renew: Script,
    leave: Script,
    matchmake: Script,
    /// Longest a registry call may take before it counts as failed.
    call_timeout: Duration,
    lease: Duration,
    reservation_ttl: Duration,
    /// When the last renewal succeeded.
    last_ok: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

/// This process, as the renewal tells the registry.
pub(super) struct Report<'a> {
    pub(super) id: &'a str,
    pub(super) url: &'a str,
    pub(super) mode: &'a str,
    pub(super) capacity: usize,
    pub(super) room_capacity: usize,
    pub(super) ready: bool,
    pub(super) key: &'a [u8],
    /// Rooms held, with their players and the reservations used for them
    /// since the last renewal (the renewal drops them from the room's
    /// pending ones: the player counts now).
    pub(super) rooms: &'a [(RoomId, usize, Vec<String>)],
    /// Rooms given up since the last renewal.
    pub(super) released: &'a [RoomId],
}

/// Why the registry could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// `--redis-url` is not a Redis URL.
    #[error("invalid --redis-url: {0}")]
    Url(#[source] redis::RedisError),
    /// Redis answered with an error or not at all.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer in time.
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    /// Redis answered something the scripts never return.
    #[error("unexpected answer from the registry: {0}")]
    Answer(String),
}

impl Registry {
    /// A registry at `url`; nothing is connected until first used.
    pub(super) fn new(url: &str, config: &ClusterConfig) -> Result<Self, RegistryError> {
        let client = redis::Client::open(url).map_err(RegistryError::Url)?;
        let call_timeout = config
            .renew_every
            .clamp(Duration::from_millis(200), Duration::from_secs(2));
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(call_timeout))
            .set_response_timeout(Some(call_timeout))
            .set_number_of_retries(1)
            .set_max_delay(call_timeout);
        let conn =
            ConnectionManager::new_lazy_with_config(client, manager).map_err(RegistryError::Url)?;
        Ok(Registry {
            conn,
            renew: Script::new(RENEW),
            leave: Script::new(LEAVE),
            matchmake: Script::new(MATCHMAKE),
            call_timeout,
            lease: config.lease,
            reservation_ttl: config.reservation_ttl,
            last_ok: Mutex::new(None),
        })
    }

    /// Whether the last renewal succeeded within the lease.
    pub(super) fn registered(&self, lease: Duration) -> bool {
        let last = *self.last_ok.lock().unwrap_or_else(|p| p.into_inner());
        last.is_some_and(|t| t.elapsed() < lease)
    }

    /// Runs `call` with the registry's timeout.
    async fn timed<T>(
        &self,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, RegistryError> {
        match tokio::time::timeout(self.call_timeout, call).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(RegistryError::Timeout(self.call_timeout)),
        }
    }

    /// One renewal; returns the seat key and the rooms lost to another process.
    pub(super) async fn renew(
        &self,
        me: &Report<'_>,
    ) -> Result<(Vec<u8>, Vec<RoomId>), RegistryError> {
        let mut inv = self.renew.prepare_invoke();
        inv.arg(me.id)
            .arg(self.lease.as_millis() as u64)
            .arg(me.url)
            .arg(me.mode)
            .arg(me.capacity)
            .arg(me.room_capacity)
            .arg(if me.ready { "1" } else { "0" })
            .arg(me.key)
            .arg(me.rooms.len());
        for (room, players, used) in me.rooms {
            inv.arg(room.0).arg(*players).arg(used.join(","));
        }
        inv.arg(me.released.len());
        for room in me.released {
            inv.arg(room.0);
        }
        let mut conn = self.conn.clone();
        let answer: Result<(Vec<u8>, Vec<u32>), _> = self.timed(inv.invoke_async(&mut conn)).await;
        // A failed renewal loses the used reservations it carried: they
        // stay pending in Redis until they expire, counting a seat twice
        // meanwhile (too full, never too empty).
        let (key, lost) = answer?;
        *self.last_ok.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        Ok((key, lost.into_iter().map(RoomId).collect()))
    }

    /// Leaves the registry with the given rooms.
    pub(super) async fn leave(
        &self,
        id: &str,
        mode: &str,
        rooms: &[RoomId],
    ) -> Result<(), RegistryError> {
        *self.last_ok.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let mut inv = self.leave.prepare_invoke();
        inv.arg(id).arg(mode);
        for room in rooms {
            inv.arg(room.0);
        }
        let mut conn = self.conn.clone();
        let _: i64 = self.timed(inv.invoke_async(&mut conn)).await?;
        Ok(())
    }

    /// Reserves seat `jti`; returns the owner's id and URL and the room.
    pub(super) async fn matchmake(
        &self,
        mode: &str,
        room: Option<RoomId>,
        jti: &str,
    ) -> Result<(String, String, RoomId), MatchError> {
        let mut inv = self.matchmake.prepare_invoke();
        inv.arg(mode)
            .arg(room.map(|r| r.0.to_string()).unwrap_or_default())
            .arg(jti)
            .arg(self.reservation_ttl.as_millis() as u64)
            .arg(self.lease.as_millis() as u64);
        let mut conn = self.conn.clone();
        let answer: Vec<String> =
            self.timed(inv.invoke_async(&mut conn))
                .await
                .map_err(|error| {
                    tracing::warn!(%error, "matchmaking: registry call failed");
                    MatchError::Unavailable
                })?;
        match answer.as_slice() {
            [ok, owner, url, room] if ok == "ok" => {
                let room = room.parse().map_err(|_| MatchError::Unavailable)?;
                Ok((owner.clone(), url.clone(), RoomId(room)))
            }
            [s] if s == "full" => Err(MatchError::RoomFull),
            [s] if s == "mode" => Err(MatchError::WrongMode),
            [s] if s == "none" => Err(MatchError::NoServer),
            other => {
                tracing::warn!(answer = ?other, "matchmaking: unexpected registry answer");
                Err(MatchError::Unavailable)
            }
        }
    }
}
