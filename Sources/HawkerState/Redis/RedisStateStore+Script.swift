import HawkerRedis

extension RedisStateStore {
    /// Applies one batch atomically: Redis runs a script alone, and this one first checks
    /// every change (against what is kept and what the batch itself did before it) and
    /// writes only when all pass, so a refused batch leaves nothing behind.
    ///
    /// ARGV[1] is the key prefix, ARGV[2] "1" to publish what is stored on the streams'
    /// channels (`StreamChannelMessage`), ARGV[3] the number of fences (-1: none), then
    /// that many pairs of stream id and lease (`<node> <token>`), then the changes, each a
    /// code and its fixed arguments:
    /// C id epoch created_at has_owner owner · A id seq ts payload · T id min_id ·
    /// R id seq saved_at data · V id at · X id · F id (a fence: writes nothing) · S field has_value value · D field delta id ·
    /// O field units · K field confirmed
    ///
    /// With fences, a stream's changes are kept only while its lease is the one given: the
    /// others are dropped, whatever else the batch holds (the node lost those streams).
    /// Stock and holds belong to no stream and are never fenced; in a cluster ("1") a hold
    /// is kept only if Redis still has its units available (on hand − held, `p:held` per
    /// SKU): another node may have sold them. Returns the fenced-off stream ids and the
    /// refused holds' fields.
    ///
    /// Per stream: a hash `p:s:{id}` (epoch, created_at, owner, seq of the last event,
    /// room, room_seq, room_saved_at, archived_at) and a Redis stream `p:s:{id}:e` of its
    /// events, entry id `<seq>-0`. Live streams in the sorted set `p:streams` by creation,
    /// archived ones in `p:archived` by when; stock and holds in the hashes `p:stock` and
    /// `p:holds`. Sequence numbers stay below 2^53, so Lua's numbers hold them exactly.
    static let applyScript = RedisScript(
        """
        local p = ARGV[1]
        local publish = ARGV[2] == '1'
        local fences = tonumber(ARGV[3])
        local n = #ARGV
        local function meta(id) return p .. ':s:{' .. id .. '}' end
        local function events(id) return p .. ':s:{' .. id .. '}:e' end
        local function channel(id) return p .. ':s:{' .. id .. '}:ch' end
        local arity = {C = 6, A = 5, T = 3, R = 5, V = 3, X = 2, F = 2, S = 4, D = 4, O = 3, K = 3}
        local first = 4
        local allowed = {}
        local fenced = {}
        if fences >= 0 then
          for _ = 1, fences do
            if redis.call('GET', meta(ARGV[first]) .. ':lease') == ARGV[first + 1] then allowed[ARGV[first]] = true end
            first = first + 2
          end
        end
        local function refused(op, id)
          if fences < 0 or op == 'S' or op == 'D' or op == 'O' or op == 'K' or allowed[id] then return false end
          fenced[id] = true
          return true
        end
        local again = {}
        local known = {}
        local function state(id)
          local s = known[id]
          if s == nil then
            local fields = redis.call('HMGET', meta(id), 'epoch', 'seq')
            s = {exists = fields[1] ~= false, seq = tonumber(fields[2] or '0') or 0}
            known[id] = s
          end
          return s
        end
        local refusedHolds = {}
        -- Ends a hold: its units leave what is held and, when its order was confirmed,
        -- on hand (of the products still tracked).
        local function releaseHold(field, confirmed)
          local kept = redis.call('HGET', p .. ':holds', field)
          if not kept then return end
          for _, held in ipairs(cjson.decode(kept)) do
            if redis.call('HINCRBY', p .. ':held', held.f, -held.u) <= 0 then redis.call('HDEL', p .. ':held', held.f) end
            if confirmed and redis.call('HEXISTS', p .. ':stock', held.f) == 1 then
              redis.call('HSET', p .. ':stock', held.f, tostring(math.max(0, tonumber(redis.call('HGET', p .. ':stock', held.f)) - held.u)))
            end
          end
          redis.call('HDEL', p .. ':holds', field)
        end
        local i = first
        while i <= n do
          local op = ARGV[i]
          local size = arity[op]
          if size == nil or i + size - 1 > n then
            return redis.error_reply('HAWKER_BAD_BATCH change ' .. tostring(op) .. ' at ' .. i)
          end
          local id = ARGV[i + 1]
          if refused(op, id) then
            -- dropped: the lease is another node's now
          elseif op == 'C' then
            known[id] = {exists = true, seq = 0}
          elseif op == 'A' then
            local s = state(id)
            if not s.exists then return redis.error_reply('HAWKER_UNKNOWN_STREAM no stream ' .. id .. ' is kept') end
            local seq = tonumber(ARGV[i + 2])
            if seq == nil then return redis.error_reply('HAWKER_CONFLICT event ' .. ARGV[i + 2] .. ' of ' .. id .. ' is not a number') end
            if seq <= s.seq then
              -- A batch sent again (its answer was lost with a connection): the same event,
              -- kept already, is not a conflict.
              local kept = redis.call('XRANGE', events(id), ARGV[i + 2] .. '-0', ARGV[i + 2] .. '-0')
              if kept[1] and kept[1][2][4] == ARGV[i + 4] then
                again[i] = true
              else
                return redis.error_reply('HAWKER_CONFLICT event ' .. ARGV[i + 2] .. ' of ' .. id .. ' is not after ' .. s.seq)
              end
            else
              s.seq = seq
            end
          elseif op == 'R' then
            if not state(id).exists then return redis.error_reply('HAWKER_UNKNOWN_STREAM no stream ' .. id .. ' is kept') end
          elseif op == 'X' then
            known[id] = {exists = false, seq = 0}
          end
          i = i + size
        end
        i = first
        while i <= n do
          local op = ARGV[i]
          local id = ARGV[i + 1]
          if fenced[id] and op ~= 'S' and op ~= 'D' and op ~= 'O' and op ~= 'K' then
            -- dropped
          elseif again[i] then
            -- kept already
          elseif op == 'C' then
            redis.call('DEL', meta(id), events(id))
            local position = redis.call('INCR', p .. ':position')
            redis.call('HSET', meta(id), 'epoch', ARGV[i + 2], 'created_at', ARGV[i + 3], 'seq', '0')
            if ARGV[i + 4] == '1' then redis.call('HSET', meta(id), 'owner', ARGV[i + 5]) end
            redis.call('ZADD', p .. ':streams', position, id)
            redis.call('ZREM', p .. ':archived', id)
            if publish then redis.call('PUBLISH', channel(id), 'C' .. ARGV[i + 2] .. '\\n') end
          elseif op == 'A' then
            redis.call('XADD', events(id), ARGV[i + 2] .. '-0', 'ts', ARGV[i + 3], 'p', ARGV[i + 4])
            redis.call('HSET', meta(id), 'seq', ARGV[i + 2])
            if publish then redis.call('PUBLISH', channel(id), 'E' .. ARGV[i + 2] .. ' ' .. ARGV[i + 3] .. '\\n' .. ARGV[i + 4]) end
          elseif op == 'T' then
            redis.call('XTRIM', events(id), 'MINID', ARGV[i + 2])
          elseif op == 'R' then
            redis.call('HSET', meta(id), 'room', ARGV[i + 4], 'room_seq', ARGV[i + 2], 'room_saved_at', ARGV[i + 3])
          elseif op == 'V' then
            if redis.call('EXISTS', meta(id)) == 1 then
              redis.call('DEL', events(id))
              redis.call('HSET', meta(id), 'archived_at', ARGV[i + 2])
              redis.call('ZREM', p .. ':streams', id)
              redis.call('ZADD', p .. ':archived', ARGV[i + 2], id)
              if publish then redis.call('PUBLISH', channel(id), 'X\\n') end
            end
          elseif op == 'X' then
            redis.call('DEL', meta(id), events(id))
            redis.call('ZREM', p .. ':streams', id)
            redis.call('ZREM', p .. ':archived', id)
            if publish then redis.call('PUBLISH', channel(id), 'X\\n') end
          elseif op == 'S' then
            if ARGV[i + 2] == '1' then redis.call('HSET', p .. ':stock', id, ARGV[i + 3]) else redis.call('HDEL', p .. ':stock', id) end
          elseif op == 'D' then
            -- Once per id: a batch sent again (its answer lost) does not add it twice.
            if redis.call('SET', p .. ':applied:' .. ARGV[i + 3], '1', 'NX', 'PX', 86400000) and redis.call('HEXISTS', p .. ':stock', id) == 1 then
              local onHand = tonumber(redis.call('HGET', p .. ':stock', id)) + tonumber(ARGV[i + 2])
              redis.call('HSET', p .. ':stock', id, tostring(math.max(0, onHand)))
            end
          elseif op == 'O' then
            local kept = redis.call('HGET', p .. ':holds', id)
            if kept ~= ARGV[i + 2] then
              local units = cjson.decode(ARGV[i + 2])
              local available = true
              if publish then
                for _, held in ipairs(units) do
                  local onHand = redis.call('HGET', p .. ':stock', held.f)
                  if onHand and tonumber(onHand) - tonumber(redis.call('HGET', p .. ':held', held.f) or '0') < held.u then available = false end
                end
              end
              if available then
                releaseHold(id, false)
                redis.call('HSET', p .. ':holds', id, ARGV[i + 2])
                for _, held in ipairs(units) do redis.call('HINCRBY', p .. ':held', held.f, held.u) end
              else
                refusedHolds[#refusedHolds + 1] = id
              end
            end
          elseif op == 'K' then
            releaseHold(id, ARGV[i + 2] == '1')
          end
          i = i + arity[op]
        end
        local refusedIDs = {}
        for id in pairs(fenced) do refusedIDs[#refusedIDs + 1] = id end
        return {refusedIDs, refusedHolds}
        """)

    /// Removes the archived streams archived before ARGV[2]; returns how many.
    static let pruneScript = RedisScript(
        """
        local p = ARGV[1]
        local ids = redis.call('ZRANGEBYSCORE', p .. ':archived', '-inf', '(' .. ARGV[2])
        for _, id in ipairs(ids) do
          redis.call('DEL', p .. ':s:{' .. id .. '}', p .. ':s:{' .. id .. '}:e')
          redis.call('ZREM', p .. ':archived', id)
        end
        return #ids
        """)
}
