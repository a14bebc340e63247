using System.Collections.Concurrent;
using Linda.Hosting;
using Linda.Redis;
using Linda.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit;
using Xunit.Abstractions;
using static Linda.JobQueue;
using static Linda.Tests.Infrastructure.Conditions;

namespace Linda.Tests;

/// <summary>
/// The Redis bridge under real faults, against a real redis-server: PrintArgs (a real process running
/// the bridge) SIGKILLed while it moves a Go producer's jobs, and restarted on the same data, runs every
/// job and pushes none twice; redis-server restarted (with its append-only file) under a producer's load
/// loses no acknowledged job, and the bridge reconnects by itself and runs each exactly once.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class RedisBridgeFaultSpec(ITestOutputHelper output)
{
    private const string Queue = "test";
    private const string ReadyList = "queue:" + Queue;
    private const string DelayedSet = "queue:" + Queue + ":delayed";
    private const string Moving = "linda:bridge:moving:" + Queue;

    // How often PrintArgs is SIGKILLed while its bridge moves, before the life that finishes (more, up to
    // MaxKills, until a kill has left a move half done).
    private const int Kills = 3;
    private const int MaxKills = 12;

    // How many jobs the Go producer writes for the PrintArgs spec before PrintArgs starts; it writes
    // ProducerBurst more every ProducerPause while PrintArgs lives and dies.
    private const int GoJobs = 400;
    private const int ProducerBurst = 20;
    private static readonly TimeSpan ProducerPause = TimeSpan.FromMilliseconds(25);

    // How often redis-server is restarted under load.
    private const int Restarts = 2;

    // How many jobs run between two restarts (and after the last): the bridge is moving at each.
    private const int RunsBetweenRestarts = 100;

    // The most jobs the producer has written that have not run yet (its pace follows Linda's).
    private const int ProducerWindow = 200;

    // How long the producer waits before writing again after Redis refused or dropped a write.
    private static readonly TimeSpan ProducerRetryPause = TimeSpan.FromMilliseconds(50);

    [Fact]
    public async Task PrintArgs_SIGKILLed_while_its_bridge_moves_runs_every_go_job_once_restarted_and_pushes_none_twice()
    {
        await using var redis = await RedisServer.StartAsync();
        using var data = new TempFolder("linda-redis-kill");
        // The producer writes a first batch, then goes on writing in small bursts while PrintArgs lives
        // and dies, so each life's bridge keeps taking new batches (a kill lands mid-move).
        var written = new ConcurrentQueue<string>();
        async Task Write(int i)
        {
            var id = $"job-{i:0000}";
            await GoProducer.PushAsync(redis.Db, Queue, id, "printArgs", [id], retry: 3);
            written.Enqueue(id);
        }
        for (var i = 0; i < GoJobs; i++)
            await Write(i);
        using var stopWriting = new CancellationTokenSource();
        var producer = Task.Run(async () =>
        {
            for (var i = GoJobs; !stopWriting.IsCancellationRequested; i++)
            {
                await Write(i);
                if (i % ProducerBurst == 0)
                    await Task.Delay(ProducerPause); // the producer's pace, not a wait for anything
            }
        });
        string[] options = ["--port", TestPrograms.FreePort().ToString(), "--data", data.Path, "--redis", redis.Url];

        var lives = new List<PrintArgsProcess>();
        try
        {
            var leftMoving = new List<long>();
            // A kill can land just after a round ended (nothing left moving): kill again, up to MaxKills lives,
            // until one has cut a move short.
            for (var kill = 1; kill <= Kills || (kill <= MaxKills && leftMoving.All(n => n == 0)); kill++)
            {
                var life = await StartPrintArgs(kill, options);
                lives.Add(life);
                // Mid-move: this life has run jobs and its bridge holds a batch it took.
                await Until(async () => life.Printed.Count > 0 && await redis.Db.HashLengthAsync(Moving) > 0,
                    $"PrintArgs {kill} to run jobs while its bridge moves", detail: () => life.RecentLog());
                life.Kill();
                leftMoving.Add(await redis.Db.HashLengthAsync(Moving)); // what the dead bridge left half done
            }
            await stopWriting.CancelAsync();
            await producer;
            var ids = written.Order(StringComparer.Ordinal).ToArray();
            var last = await StartPrintArgs(lives.Count + 1, options);
            lives.Add(last);
            await Until(() => lives.SelectMany(l => l.Printed).Distinct().Count() == ids.Length, $"all {ids.Length} jobs to run",
                detail: () => $"{lives.SelectMany(l => l.Printed).Distinct().Count()} ran, {redis.Db.HashLength(Moving)} moving, {redis.Db.ListLength(ReadyList)} in {ReadyList}\n{last.RecentLog()}");
            await Until(() => NothingLeftAsync(redis), "the last bridge to finish every move");
            last.Kill();

            var repeats = lives.SelectMany(l => l.Printed.Distinct()).GroupBy(p => p).Count(g => g.Count() > 1);
            output.WriteLine($"{ids.Length} jobs written; the kills left [{string.Join(", ", leftMoving)}] jobs in {Moving}; {repeats} jobs ran again after a kill cut their run; printed per life [{string.Join(", ", lives.Select(l => l.Printed.Count))}]");
            Assert.Contains(leftMoving, n => n > 0); // at least one kill cut a move short
            Assert.Equal(ids, lives.SelectMany(l => l.Printed).Distinct().Order(StringComparer.Ordinal));
            // A job runs again only in a later life (its run was cut, its lease went back): never twice in one life.
            Assert.All(lives, l => Assert.Equal(l.Printed.Count, l.Printed.Distinct().Count()));

            // One Linda job per Go id: the queue was pushed exactly as many jobs as the producer wrote.
            await using (var linda = await LindaHost.StartAsync(new LindaOptions { Queues = [Queue], WorkerRole = "no-workers-here", SqlitePath = Path.Combine(data.Path, "printargs.db") }))
                Assert.Equal(ids.Length, Assert.IsType<QueueStats>(await linda.Client.GetStatsAsync(Queue)).TotalJobs);
        }
        finally
        {
            await stopWriting.CancelAsync();
            foreach (var life in lives)
                life.Dispose();
        }
        Assert.Empty(ErrorKeys(redis));
    }

    [Fact]
    public async Task Redis_restarted_under_load_loses_no_acknowledged_job_and_the_bridge_reconnects_and_runs_each_once()
    {
        using var folder = new TempFolder("linda-redis-restart");
        await using var redis = await RedisServer.StartAsync(dataFolder: folder.File("redis"));
        var runs = new ConcurrentQueue<string>();
        using var window = new SemaphoreSlim(ProducerWindow);
        await using var node = await LindaHost.StartAsync(new LindaOptions { Queues = [Queue], WorkerNum = 2, SqlitePath = folder.File("linda.db") },
            h => h.Register("record", ctx =>
            {
                runs.Enqueue(ctx.JobId);
                window.Release();
                return Task.CompletedTask;
            }),
            more: akka => akka.WithRedisBridge(new RedisBridgeOptions { Redis = redis.Url, PollInterval = TimeSpan.FromMilliseconds(50) }));
        var acknowledged = new ConcurrentQueue<string>();
        using var stopProducing = new CancellationTokenSource();
        var producer = Task.Run(() => ProduceAsync(redis.Db, window, acknowledged, stopProducing.Token));
        string Progress() => $"{acknowledged.Count} acknowledged, {runs.Count} ran, {redis.Db.HashLength(Moving)} moving, {redis.Db.ListLength(ReadyList)} in {ReadyList}; producer {producer.Status}";

        for (var restart = 1; restart <= Restarts + 1; restart++)
        {
            var ran = runs.Count;
            await Until(() => runs.Count >= ran + RunsBetweenRestarts,
                restart == 1 ? "the bridge to move jobs" : $"the bridge to move jobs again after restart {restart - 1}", detail: Progress);
            if (restart <= Restarts)
                await redis.RestartAsync();
        }
        await stopProducing.CancelAsync();
        var writtenAgain = await producer.WaitAsync(Bound);

        var expected = acknowledged.ToHashSet();
        await Until(() => expected.IsSubsetOf(runs), $"the {expected.Count} acknowledged jobs to run", detail: Progress);
        await Until(() => NothingLeftAsync(redis), "the bridge to finish every move", detail: Progress);
        await Until(async () => Assert.IsType<QueueStats>(await node.Client.GetStatsAsync(Queue)).Jobs == 0, "every job to end in Linda");
        output.WriteLine($"{expected.Count} acknowledged jobs across {Restarts} restarts of redis-server; the producer wrote {writtenAgain} writes again");
        Assert.Equal(expected.Count, Assert.IsType<QueueStats>(await node.Client.GetStatsAsync(Queue)).TotalJobs); // one Linda job each
        Assert.Equal(runs.Count, runs.Distinct().Count()); // none twice
        Assert.Equal(expected, runs.ToHashSet());
        Assert.Empty(ErrorKeys(redis));
    }

    [Fact]
    public async Task A_bridge_that_starts_while_redis_is_down_moves_once_redis_is_back()
    {
        using var folder = new TempFolder("linda-redis-late");
        await using var redis = await RedisServer.StartAsync(dataFolder: folder.File("redis"));
        await GoProducer.PushAsync(redis.Db, Queue, "early", "record", ["early"]);
        await redis.StopAsync();
        var runs = new ConcurrentQueue<string>();
        await using var node = await LindaHost.StartAsync(new LindaOptions { Queues = [Queue], SqlitePath = folder.File("linda.db") },
            h => h.Register("record", ctx =>
            {
                runs.Enqueue(ctx.JobId);
                return Task.CompletedTask;
            }),
            more: akka => akka.WithRedisBridge(new RedisBridgeOptions { Redis = redis.Url, PollInterval = TimeSpan.FromMilliseconds(50) }));
        Assert.IsType<Pushed>(await node.Client.PushAsync(Queue, JobPayload.Create("record", "local"), "local")); // Linda runs without Redis

        await redis.StartAgainAsync();
        await Until(() => runs.Contains("early"), "the job written before the outage to run");
        await Until(() => NothingLeftAsync(redis), "the bridge to finish its move");
        Assert.Equal(["early", "local"], runs.Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// A Go producer that keeps writing jobs (record, then id) until told to stop, at most
    /// <see cref="ProducerWindow"/> ahead of the runs; a write Redis refused or dropped (it restarts) is
    /// written again until acknowledged. A job counts as acknowledged once both of its writes were.
    /// Returns how many writes were written again.
    /// </summary>
    private static async Task<int> ProduceAsync(IDatabase db, SemaphoreSlim window, ConcurrentQueue<string> acknowledged, CancellationToken stop)
    {
        var again = 0;
        for (var i = 0; ; i++)
        {
            try
            {
                await window.WaitAsync(stop);
            }
            catch (OperationCanceledException)
            {
                return again;
            }
            var id = $"job-{i:00000}";
            again += await UntilAcknowledged(() => db.StringSetAsync(GoProducer.InfoKey(id), GoProducer.Record(id, Queue, "record", [i])));
            again += await UntilAcknowledged(() => db.ListRightPushAsync(ReadyList, id));
            acknowledged.Enqueue(id);
        }
    }

    /// <summary>Writes until Redis acknowledges the write; returns how many times it was written again.</summary>
    private static async Task<int> UntilAcknowledged(Func<Task> write)
    {
        var giveUpAt = DateTime.UtcNow + Bound;
        for (var again = 0; ; again++)
        {
            try
            {
                await write();
                return again;
            }
            catch (Exception e) when (e is RedisException or TimeoutException && DateTime.UtcNow < giveUpAt)
            {
                await Task.Delay(ProducerRetryPause);
            }
        }
    }

    private Task<PrintArgsProcess> StartPrintArgs(int life, string[] options) =>
        PrintArgsProcess.StartAsync(line => output.WriteLine($"PrintArgs {life}: {line}"), options);

    /// <summary>Nothing waits in the ready list, the delayed set or the moving hash.</summary>
    private static async Task<bool> NothingLeftAsync(RedisServer redis) =>
        await redis.Db.ListLengthAsync(ReadyList) == 0 && await redis.Db.SortedSetLengthAsync(DelayedSet) == 0 && await redis.Db.HashLengthAsync(Moving) == 0;

    private static RedisKey[] ErrorKeys(RedisServer redis) =>
        redis.Client.GetServer(redis.Client.GetEndPoints()[0]).Keys(pattern: "linda:bridge:error:*").ToArray();
}
