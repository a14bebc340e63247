// One Linda node in a process of its own, for MultiProcessSpec and the benchmark's failover mode:
// ActorSystem "linda", remoting on 127.0.0.1:PORT, a cluster, queue "jobs" on PostgreSQL, and workers
// running the handler "record". Driven over stdin/stdout, one line each way per event.
//
// usage: Linda.Tests.ClusterNode --cluster-port N --postgres CONNECTION_STRING [--seed ADDRESS]...
//        [--name NAME] [--profile fast|production|default] [--workers N] [--work-ms N]
//        [--ask-timeout-ms N] [--push-window N] [--hocon TEXT] [--tls-cert PFX [--tls-password PASSWORD] [--tls-ca CA_CERT]]
//        [--placement sharded|singleton]
//   --seed      a seed node, e.g. akka.tcp://linda@127.0.0.1:4053 (repeatable); none: the node joins itself
//   --profile   Linda's failover profile (default: fast); "default" leaves Akka's settings as they are
//   --work-ms   how long the "record" handler works on a job (default 10)
//   --ask-timeout-ms  how long a push waits for the queue's reply (default 10000)
//   --push-window     pushes in flight at most, over all push commands (default 32)
//   --hocon     extra HOCON over everything else (for experiments)
//   --tls-cert  remoting over mutual TLS with this PKCS#12 file's certificate (its password from
//               --tls-password or LINDA_TLS_PASSWORD); --tls-ca: the authority peers' certificates must
//               chain to (without it: peers must present the same certificate). Seeds are then akka.ssl.tcp://...
//   --placement where the queue runs (default: LINDA_TEST_PLACEMENT's, else Linda's default, sharded)
//
// stdout (every line flushed at once):
//   UP                               the member is Up
//   QUEUE-HERE / QUEUE-GONE          the queue started / stopped on this node (a singleton or a sharded entity)
//   RAN <id> <attempt> <name>        the "record" handler finished a job's work (before its verdict is sent)
//   ACK <id> / NACK <id> <reply>     the reply to one push: Pushed, or anything else (a timeout too)
//   PUSHED <prefix> acked=N nacked=M every push of one push command has its reply
//   STATS ready=.. reserved=.. delayed=.. buried=.. jobs=..   (STATS-FAILED <reason> if the queue did not answer)
//   LEFT                             after "leave": the node left the cluster; the process exits
// stdin:
//   push <prefix> <count>   pushes jobs <prefix>-0 .. <prefix>-(count-1) of class "record" through
//                           ILindaClient, at most --push-window in flight (shared by all push commands)
//   stats                   the queue's counts
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

const string Queue = "jobs";

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
            Queues = [Queue],
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
        }))
        .AddStartup((system, _) =>
        {
            Cluster.Get(system).RegisterOnMemberUp(() => Out.Line("UP"));
            system.ActorOf(QueueWatcher.Props(LindaNode.Get(system).Queues[Queue]), "queue-watcher");
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
        case ["stats"]:
            _ = StatsAsync();
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
            var reply = await client.PushAsync(Queue, JobPayload.Create("record", i), id);
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

async Task StatsAsync()
{
    try
    {
        var reply = await client.GetStatsAsync(Queue);
        Out.Line(reply is QueueStats s
            ? $"STATS ready={s.Ready} reserved={s.Reserved} delayed={s.Delayed} buried={s.Buried} jobs={s.Jobs}"
            : $"STATS-FAILED {reply}");
    }
    catch (Exception e)
    {
        Out.Line($"STATS-FAILED {e.GetType().Name}");
    }
}
