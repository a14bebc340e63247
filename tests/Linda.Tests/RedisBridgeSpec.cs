using System.Collections.Concurrent;
using Linda.Hosting;
using Linda.Redis;
using Linda.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit;
using static Linda.JobQueue;
using static Linda.Tests.Infrastructure.Conditions;

namespace Linda.Tests;

/// <summary>
/// The Redis bridge against a real redis-server on a free port, into a one-node Linda (SQLite file;
/// Akka's default cluster profile): jobs written the way the Go Linda's producers write them run once
/// each through Linda's workers; a move a dead bridge left half done is finished, not doubled; a
/// record that can't be read gets its error key and the rest flow on.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class RedisBridgeSpec : IAsyncLifetime
{
    private readonly TempFolder _folder = new();
    private readonly ConcurrentQueue<(string Id, string Args)> _runs = new();
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _redis.DisposeAsync();
        _folder.Dispose();
    }

    private Task<LindaHost> StartLinda() => LindaHost.StartAsync(new LindaOptions { Queues = ["test"], WorkerNum = 2, SqlitePath = _folder.File("linda.db") },
        h => h.RegisterWorker("printArgs", _ => { }).Register("record", ctx =>
        {
            _runs.Enqueue((ctx.JobId, ctx.Args.GetRawText()));
            return Task.CompletedTask;
        }),
        more: akka => akka.WithRedisBridge(new RedisBridgeOptions { Redis = _redis.Url, PollInterval = TimeSpan.FromMilliseconds(50) }));

    /// <summary>What the Go Linda's Push or Later writes, into queue:test.</summary>
    private Task GoPush(string id, string cls, object[] args, long period = 0, int retry = 0, DateTimeOffset? due = null) =>
        GoProducer.PushAsync(_redis.Db, "test", id, cls, args, period, retry, due);

    [Fact]
    public async Task Jobs_written_the_go_way_run_once_each_through_linda_and_leave_redis_empty()
    {
        for (var i = 0; i < 50; i++)
            await GoPush($"go-{i:00}", "record", [i, "x"]);
        await GoPush("later", "record", ["later"], due: DateTimeOffset.UtcNow.AddHours(1));
        await GoPush("daily", "record", ["tick"], period: 86400, retry: 3, due: DateTimeOffset.UtcNow.AddHours(2));
        await GoPush("1", "record", ["digits"]); // the Go example's id: digits only
        await using var node = await StartLinda();

        await Until(() => _runs.Count >= 51, "the 51 ready jobs to run");
        Assert.Equal(51, _runs.Select(r => r.Id).Distinct().Count());
        Assert.Contains(("go-1", "[\"digits\"]"), _runs); // Linda keeps digit-only ids for its own
        Assert.Contains(("go-07", "[7,\"x\"]"), _runs);
        await Until(async () => await node.Client.GetJobAsync("test", "daily") is JobView, "the delayed jobs to be in Linda");
        var later = Assert.IsType<JobView>(await node.Client.GetJobAsync("test", "later"));
        Assert.Equal(JobState.Delayed, later.State); // moved at once, with its due time
        Assert.InRange(later.DueAt!.Value, DateTimeOffset.UtcNow.AddMinutes(58), DateTimeOffset.UtcNow.AddMinutes(61));
        var daily = Assert.IsType<JobView>(await node.Client.GetJobAsync("test", "daily"));
        Assert.Equal((TimeSpan.FromDays(1), (int?)3), (daily.Job.Period, daily.Job.MaxRetries));

        Assert.Equal(0, await _redis.Db.ListLengthAsync("queue:test"));
        Assert.Equal(0, await _redis.Db.SortedSetLengthAsync("queue:test:delayed"));
        await Until(async () => await _redis.Db.HashLengthAsync("linda:bridge:moving:test") == 0, "the moving hash to be empty");
        Assert.Equal(51, _runs.Count); // none twice
    }

    [Fact]
    public async Task A_move_a_dead_bridge_left_half_done_is_finished_once_and_one_already_in_linda_is_not_doubled()
    {
        // A bridge died after taking these into the moving hash; "dup" had already reached Linda.
        await GoPush("half", "record", ["half"]);
        await GoPush("dup", "record", ["dup"]);
        await _redis.Db.ListRemoveAsync("queue:test", "half");
        await _redis.Db.ListRemoveAsync("queue:test", "dup");
        await _redis.Db.HashSetAsync("linda:bridge:moving:test", [new HashEntry("half", "0"), new HashEntry("dup", "0")]);
        await using (var first = await LindaHost.StartAsync(new LindaOptions { Queues = ["test"], WorkerRole = "no-workers-here", SqlitePath = _folder.File("linda.db") }))
            Assert.IsType<Pushed>(await first.Client.PushAsync(new Push("test", JobPayload.Create("record", "dup"))
            {
                Id = "dup", UniqueKey = RedisBridge.DedupKey("test", "dup"), UniqueFor = TimeSpan.FromDays(1), // as the dead bridge pushed it
            }));

        await using var node = await StartLinda();
        await Until(() => _runs.Count >= 2, "both jobs to run", detail: () => $"ran [{string.Join(", ", _runs.Select(r => r.Id))}], moving {_redis.Db.HashLength("linda:bridge:moving:test")}, errors {_redis.Db.StringGet("linda:bridge:error:half")}");
        await Until(async () => await _redis.Db.HashLengthAsync("linda:bridge:moving:test") == 0, "the moving hash to be empty");
        Assert.Equal(["dup", "half"], _runs.Select(r => r.Id).Order()); // dup ran (and ended) before its move was finished again: not twice
    }

    [Fact]
    public async Task A_record_that_is_missing_unreadable_classless_or_refused_gets_its_error_key_and_the_rest_flow_on()
    {
        await GoPush("first", "record", ["ok"]);
        await _redis.Db.ListRightPushAsync("queue:test", "no-record");
        await _redis.Db.StringSetAsync("linda:job:broken:info", "{not json");
        await _redis.Db.ListRightPushAsync("queue:test", "broken");
        await _redis.Db.StringSetAsync("linda:job:classless:info", """{"id":"classless","queue":"test","payload":{"args":[1]}}""");
        await _redis.Db.ListRightPushAsync("queue:test", "classless");
        await GoPush("bad id", "record", ["refused"]); // Linda's ids have no spaces
        await GoPush("fine", "record", ["ok"]);
        await using var node = await StartLinda();

        await Until(() => _runs.Count >= 2, "the good jobs to run");
        await Until(async () => await _redis.Db.ListLengthAsync("queue:test") == 0 && await _redis.Db.HashLengthAsync("linda:bridge:moving:test") == 0,
            "every job to be taken and its move finished");
        Assert.Contains("can't be read", (string?)await _redis.Db.StringGetAsync("linda:bridge:error:broken"));
        Assert.Contains("no record linda:job:no-record:info", (string?)await _redis.Db.StringGetAsync("linda:bridge:error:no-record"));
        Assert.Equal("the record has no payload class", (string?)await _redis.Db.StringGetAsync("linda:bridge:error:classless"));
        Assert.StartsWith("Linda refused the job: ", (string?)await _redis.Db.StringGetAsync("linda:bridge:error:bad id"));
        Assert.IsType<NotFound>(await node.Client.GetJobAsync("test", "broken"));
        Assert.IsType<NotFound>(await node.Client.GetJobAsync("test", "classless"));
        Assert.Equal(["fine", "first"], _runs.Select(r => r.Id).Order(StringComparer.Ordinal));
    }
}
