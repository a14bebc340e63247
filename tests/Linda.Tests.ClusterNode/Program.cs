// One Linda node in a process of its own, for MultiProcessSpec and the benchmark's failover and
// cluster-workers modes: ActorSystem "linda", remoting on 127.0.0.1:PORT, a cluster, queue "jobs" (or
// --queues) on PostgreSQL, and workers running the handlers "record" and "count". Driven over
// stdin/stdout, one line each way per event.
//
// usage: Linda.Tests.ClusterNode --cluster-port N --postgres CONNECTION_STRING [--seed ADDRESS]...
//        [--name NAME] [--profile fast|production|default] [--workers N] [--work-ms N]
//        [--ask-timeout-ms N] [--push-window N] [--hocon TEXT] [--tls-cert PFX [--tls-password PASSWORD] [--tls-ca CA_CERT]]
//        [--placement sharded|singleton] [--queues A,B,...] [--partitions QUEUE=P]... [--watch on|off]
//   --seed      a seed node, e.g. akka.tcp://linda@127.0.0.1:4053 (repeatable); none: the node joins itself
//   --profile   Linda's failover profile (default: fast); "default" leaves Akka's settings as they are
//   --workers   workers per queue on this node (WorkerNum, default 4)
//   --work-ms   how long the "record" handler works on a job (default 10)
//   --ask-timeout-ms  how long a push waits for the queue's reply (default 10000)
//   --push-window     pushes in flight at most, over all push commands (default 32); each load command
//                     keeps this many in flight of its own
//   --hocon     extra HOCON over everything else (for experiments)
//   --tls-cert  remoting over mutual TLS with this PKCS#12 file's certificate (its password from
//               --tls-password or LINDA_TLS_PASSWORD); --tls-ca: the authority peers' certificates must
//               chain to (without it: peers must present the same certificate). Seeds are then akka.ssl.tcp://...
//   --placement where the queues run (default: LINDA_TEST_PLACEMENT's, else Linda's default, sharded)
//   --queues    the queues (default: jobs); "push", "stats" and the watcher use the first
//   --partitions  QUEUE=P: QUEUE is partitioned into P (LindaOptions.Partitions; repeatable)
//   --watch     on (default): say QUEUE-HERE / QUEUE-GONE for the first queue (it asks where the queue is
//               every 100 ms until it runs here); off for measurements. Not for a partitioned first queue.
//
// stdout (every line flushed at once):
//   UP                               the member is Up
//   QUEUE-HERE / QUEUE-GONE          the first queue started / stopped on this node (a singleton or a sharded entity)
//   RAN <id> <attempt> <name>        the "record" handler finished a job's work (before its verdict is sent)
//   ACK <id> / NACK <id> <reply>     the reply to one push: Pushed, or anything else (a timeout too)
//   PUSHED <prefix> acked=N nacked=M every push of one push (or load) command has its reply
//   STATS ready=.. reserved=.. delayed=.. buried=.. jobs=..   (STATS-FAILED <reason> if the queue did not answer)
//   COUNTS ran=N redelivered=M jit_ms=.. allocated_bytes=.. gc_pause_ms=.. gcs=..
//                                    runs of the "count" handler on this node so far, of them attempts after
//                                    the first; the process's time in the JIT, bytes allocated, GC pauses and collections
//   PAUSED / RESUMED                 every queue answered the pause / resume (PAUSE-FAILED / RESUME-FAILED <reply>)
//   WHERE <name>...                  the queue actors running on this node now: queues, and partitions of partitioned ones
//   LEFT                             after "leave": the node left the cluster; the process exits
// stdin:
//   push <prefix> <count>   pushes jobs <prefix>-0 .. <prefix>-(count-1) of class "record" to the first queue
//                           through ILindaClient, at most --push-window in flight (shared by all push commands)
//   load <prefix> <count> [in-flight]
//                           pushes count jobs of class "count" (a random 100-byte payload, ids the queue makes),
//                           round robin over the queues, in-flight (default --push-window) at a time, without a line per push
//   stats [QUEUE]           the queue's counts (default: the first queue)
//   counts                  the "count" handler's runs
//   pause / resume          pauses every queue (no job is handed out) / ends the pause
//   where                   where the queue actors are
//   leave                   leaves the cluster gracefully (coordinated shutdown, cluster-leaving reason) and exits
// The end of stdin (the parent went away) stops the node.
using System.Globalization;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Configuration;
using Akka.Event;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Linda;
using Linda.Hosting;
using Linda.Tests.ClusterNode;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static Linda.JobQueue;

// The "count" handler's jobs: their payload's size (class + JSON args), as the workers benchmark's;
// random letters and digits, so that the journal's rows don't compress better than real payloads would.
const int LoadPayloadBytes = 100;
const string PayloadAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
// How long "pause" pauses the queues: longer than any measurement; "resume" ends it.
var pauseFor = TimeSpan.FromHours(1);

NodeArgs options;
try
{
    options = NodeArgs.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
try
{
    options.Tls?.Load(); // a certificate the cluster would refuse stops the node here, saying why
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"linda: {e.Message}");
    return 2;
}

var self = $"{(options.Tls is null ? "akka.tcp" : LindaTlsHostingExtensions.Protocol)}://linda@127.0.0.1:{options.Port}";
var hocon = $"""
    akka.actor.ask-timeout = {options.AskTimeoutMs}ms
    {options.Hocon}
    """;
var queue = options.Queues[0];
var runs = new RunCounter();
var logLevel = Logging.LogLevelFor(Environment.GetEnvironmentVariable("LINDA_TEST_LOGLEVEL") ?? "WARNING");

using var host = new HostBuilder().ConfigureServices(services =>
{
    services.AddLindaClient();
    services.AddAkka("linda", (akka, _) => akka
        .AddHocon(ConfigurationFactory.ParseString(hocon), HoconAddMode.Prepend)
        .ConfigureLoggers(loggers =>
        {
            // Akka's log goes to stderr: stdout carries only the lines above.
            loggers.LogLevel = logLevel;
            loggers.ClearLoggers();
            loggers.AddLogger<StderrLogger>();
        })
        .WithRemoting("127.0.0.1", options.Port)
        .WithClustering(new ClusterOptions { SeedNodes = options.Seeds.Count > 0 ? [.. options.Seeds] : [self] })
        .WithLinda(new LindaOptions
        {
            Queues = options.Queues,
            Partitions = options.Partitions.Count > 0 ? options.Partitions : null,
            WorkerNum = options.Workers,
            ConnectionString = options.Postgres,
            ProviderName = "PostgreSQL.15",
            FailoverProfile = options.Profile,
            Tls = options.Tls,
            Placement = options.Placement,
        }, handlers => handlers.Register("record", async ctx =>
        {
            await Task.Delay(options.WorkMs, ctx.CancellationToken);
            Out.Line($"RAN {ctx.JobId} {ctx.Attempt} {options.Name}");
        }).Register("count", ctx =>
        {
            runs.Ran(ctx.Attempt);
            return Task.CompletedTask;
        }))
        .AddStartup((system, _) =>
        {
            Cluster.Get(system).RegisterOnMemberUp(() => Out.Line("UP"));
            if (options.Watch && !options.Partitions.ContainsKey(queue))
                system.ActorOf(QueueWatcher.Props(LindaNode.Get(system).Queues[queue]), "queue-watcher");
        }));
}).Build();

await host.StartAsync();
var system = host.Services.GetRequiredService<ActorSystem>();
var client = host.Services.GetRequiredService<ILindaClient>();
using var window = new SemaphoreSlim(options.PushWindow);

while (await Console.In.ReadLineAsync() is { } line)
{
    var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    switch (words)
    {
        case ["push", var prefix, var count] when int.TryParse(count, CultureInfo.InvariantCulture, out var n):
            _ = PushAsync(prefix, n);
            break;
        case ["load", var prefix, var count] when int.TryParse(count, CultureInfo.InvariantCulture, out var n):
            _ = LoadAsync(prefix, n, options.PushWindow);
            break;
        case ["load", var prefix, var count, var inFlight] when int.TryParse(count, CultureInfo.InvariantCulture, out var n)
                                                             && int.TryParse(inFlight, CultureInfo.InvariantCulture, out var w) && w > 0:
            _ = LoadAsync(prefix, n, w);
            break;
        case ["stats"]:
            _ = StatsAsync(queue);
            break;
        case ["stats", var name]:
            _ = StatsAsync(name);
            break;
        case ["counts"]:
            Out.Line($"COUNTS ran={runs.Count} redelivered={runs.Redelivered} {RunCounter.Runtime()}");
            break;
        case ["pause"]:
            _ = EveryQueueAsync("PAUSED", "PAUSE-FAILED", q => client.PauseAsync(q, pauseFor), reply => reply is Paused);
            break;
        case ["resume"]:
            _ = EveryQueueAsync("RESUMED", "RESUME-FAILED", q => client.ResumeAsync(q), reply => reply is Resumed);
            break;
        case ["where"]:
            _ = WhereAsync();
            break;
        case ["leave"]:
            await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
            Out.Line("LEFT");
            await host.StopAsync();
            return 0;
        case []:
            break;
        default:
            Console.Error.WriteLine($"unknown command: {line}");
            break;
    }
}

await host.StopAsync();
return 0;

async Task PushAsync(string prefix, int count)
{
    var acked = 0;
    var nacked = 0;
    await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
    {
        var id = $"{prefix}-{i}";
        await window.WaitAsync();
        try
        {
            var reply = await client.PushAsync(queue, JobPayload.Create("record", i), id);
            if (reply is Pushed)
            {
                Interlocked.Increment(ref acked);
                Out.Line($"ACK {id}");
            }
            else
            {
                Interlocked.Increment(ref nacked);
                Out.Line($"NACK {id} {reply}");
            }
        }
        catch (Exception e) // the ask timed out: the push may or may not be in the journal
        {
            Interlocked.Increment(ref nacked);
            Out.Line($"NACK {id} {e.GetType().Name}");
        }
        finally
        {
            window.Release();
        }
    }));
    Out.Line($"PUSHED {prefix} acked={acked} nacked={nacked}");
}

async Task LoadAsync(string prefix, int count, int inFlight)
{
    var argLength = LoadPayloadBytes - JobPayload.Create("count", "").Size;
    var acked = 0;
    var nacked = 0;
    var reasons = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
    var next = -1;
    async Task Lane()
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) < count)
        {
            string? failure;
            try
            {
                var payload = JobPayload.Create("count", string.Create(argLength, 0, (chars, _) =>
                {
                    for (var c = 0; c < chars.Length; c++)
                        chars[c] = PayloadAlphabet[Random.Shared.Next(PayloadAlphabet.Length)];
                }));
                var reply = await client.PushAsync(options.Queues[i % options.Queues.Count], payload);
                failure = reply is Pushed ? null : reply.GetType().Name;
            }
            catch (Exception e) // the ask timed out: the push may or may not be in the journal
            {
                failure = e.GetType().Name;
            }
            if (failure is null)
                Interlocked.Increment(ref acked);
            else
            {
                Interlocked.Increment(ref nacked);
                reasons.AddOrUpdate(failure, 1, (_, k) => k + 1);
            }
        }
    }
    await Task.WhenAll(Enumerable.Range(0, Math.Min(inFlight, count)).Select(_ => Task.Run(Lane)));
    if (!reasons.IsEmpty)
        Console.Error.WriteLine($"load {prefix}: not acknowledged: {string.Join(", ", reasons.Select(r => $"{r.Value} {r.Key}"))}");
    Out.Line($"PUSHED {prefix} acked={acked} nacked={nacked}");
}

async Task EveryQueueAsync(string done, string failed, Func<string, Task<IReply>> send, Func<IReply, bool> ok)
{
    try
    {
        var replies = await Task.WhenAll(options.Queues.Select(send));
        Out.Line(replies.FirstOrDefault(r => !ok(r)) is { } refused ? $"{failed} {refused}" : done);
    }
    catch (Exception e)
    {
        Out.Line($"{failed} {e.GetType().Name}");
    }
}

async Task WhereAsync()
{
    // A partitioned queue's address is its router, on every node: ask each partition instead.
    var names = options.Queues.SelectMany(q => client.PartitionsOf(q) is { Count: > 0 } partitions ? partitions : [q]).ToArray();
    var here = await Task.WhenAll(names.Select(async name =>
    {
        try
        {
            return await client.SendAsync(name, Locate.Instance) is Located located && located.Queue.Path.Address.HasLocalScope ? name : null;
        }
        catch (Exception)
        {
            return null; // moving: not here now
        }
    }));
    Out.Line(string.Join(' ', ["WHERE", .. here.OfType<string>()]));
}

async Task StatsAsync(string name)
{
    try
    {
        var reply = await client.GetStatsAsync(name);
        Out.Line(reply is QueueStats s
            ? $"STATS ready={s.Ready} reserved={s.Reserved} delayed={s.Delayed} buried={s.Buried} jobs={s.Jobs}"
            : $"STATS-FAILED {reply}");
    }
    catch (Exception e)
    {
        Out.Line($"STATS-FAILED {e.GetType().Name}");
    }
}
