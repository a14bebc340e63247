// Linda quickstart: one process, one node, one SQLite file. Registers handlers, pushes a mix of jobs
// (immediate, prioritised, delayed, periodic, one that fails twice then succeeds, one that is buried,
// a typed job whose args are a record), adds a cron schedule that runs every two seconds, shows
// progress as jobs finish, prints the final stats and exits.
// usage: dotnet run --project samples/Quickstart [-- --data DIR]
using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Linda;
using Linda.Hosting;
using Linda.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static Linda.JobQueue;

var dataDir = args.Length == 2 && args[0] == "--data"
    ? args[1]
    : Path.Combine(Path.GetTempPath(), $"linda-quickstart-{Environment.ProcessId}");
var dbPath = Path.Combine(dataDir, "linda.db");
Directory.CreateDirectory(dataDir);
foreach (var file in new[] { dbPath, dbPath + "-wal", dbPath + "-shm" })
    File.Delete(file); // a fresh queue every run, so the story is the same each time
Console.WriteLine($"Linda quickstart: queue 'quickstart' on {dbPath} (SQLite, WAL, synchronous=FULL)");

var settled = new ConcurrentDictionary<string, bool>();
var allSettled = new TaskCompletionSource();
void Settle(string id)
{
    if (settled.TryAdd(id, true) && settled.Count == 8)
        allSettled.TrySetResult();
}

var host = new HostBuilder().ConfigureServices(services =>
{
    services.AddLindaClient();
    services.AddAkka("quickstart", (akka, _) => akka
        .AddHocon(ConfigurationFactory.ParseString("akka.loglevel = ERROR"), HoconAddMode.Prepend)
        .WithRemoting("127.0.0.1", 0)
        .WithClustering(new ClusterOptions())
        .AddStartup((system, _) => Cluster.Get(system).Join(Cluster.Get(system).SelfAddress)) // a cluster of one
        .WithLinda(new LindaOptions
        {
            Queues = ["quickstart"],
            SqlitePath = dbPath,
            WorkerNum = 2,
            RetryBackoffMin = TimeSpan.FromMilliseconds(200),
        }, handlers => handlers
            .RegisterWorker("printArgs", args => Console.WriteLine($"ran     printArgs {args}"))
            .Register("flaky", ctx =>
            {
                if (ctx.Attempt <= 2)
                    throw new InvalidOperationException($"flaky failure on attempt {ctx.Attempt}");
                Console.WriteLine($"ran     {ctx.JobId}: worked on attempt {ctx.Attempt}");
                return Task.CompletedTask;
            })
            .Register("poison", ctx => throw new FormatException($"can't read the input (attempt {ctx.Attempt})"))
            .Register("heartbeat", ctx =>
            {
                Console.WriteLine($"ran     {ctx.JobId}: beat at {DateTime.UtcNow:HH:mm:ss.fff}");
                return Task.CompletedTask;
            })
            .Register<SendWelcome, SendWelcomeHandler>()                      // a typed job: the record comes back
            .Register<Cleanup>((args, ctx) =>
            {
                Console.WriteLine($"ran     {ctx.JobId}: cleaned {args.Folder}");
                return Task.CompletedTask;
            })));
}).Build();
await host.StartAsync();
var linda = host.Services.GetRequiredService<ILindaClient>();

async Task Push(Push push, string what)
{
    var reply = await linda.PushAsync(push);
    Console.WriteLine(reply is Pushed p
        ? $"pushed  {p.JobId,-10} {push.Payload,-24} {what} ({p.State.ToString().ToLowerInvariant()})"
        : $"refused {push.Id,-10} {push.Payload,-24} {what}: {((IFailure)reply).Message}");
}

await Push(new Push("quickstart", JobPayload.Create("printArgs", "hello", "world")) { Id = "hello" }, "priority 1024");
await Push(new Push("quickstart", JobPayload.Create("printArgs", "urgent")) { Id = "urgent", Priority = 0 }, "priority 0");
await Push(Later("quickstart", JobPayload.Create("printArgs", "a", "b", "c"), TimeSpan.FromSeconds(1)) with { Id = "later" }, "delayed 1 s");
await Push(new Push("quickstart", JobPayload.Create("flaky")) { Id = "flaky", MaxRetries = 3 }, "fails twice, then works");
await Push(new Push("quickstart", JobPayload.Create("poison")) { Id = "poison", MaxRetries = 1 }, "always fails: buried");
await Push(new Push("quickstart", JobPayload.Create("heartbeat")) { Id = "heartbeat", Period = TimeSpan.FromSeconds(1) }, "periodic, every 1 s");
await Push(new Push("quickstart", JobPayload.Create("heartbeat")) { Id = "heartbeat" }, "same id again");
var welcome = await linda.PushAsync(new SendWelcome("ada@example.com"), new PushOptions { Id = "welcome" });
Console.WriteLine($"pushed  {welcome,-10} {"SendWelcome",-24} a typed job: its args are a record");
var firstCleanup = await linda.AddOrUpdateScheduleAsync("cleanup", "*/2 * * * * *", new Cleanup("/tmp/uploads"));
Console.WriteLine($"cron    cleanup    */2 * * * * * (every 2 s, UTC), first run at {firstCleanup:HH:mm:ss}");

// Progress: watch each job until it is gone (done), buried, or (periodic) has run twice.
var deadline = DateTime.UtcNow.AddMinutes(1);
while (!allSettled.Task.IsCompleted && DateTime.UtcNow < deadline)
{
    if (!settled.ContainsKey("cleanup") && await linda.GetSchedulesAsync("quickstart") is ScheduleList { Schedules: [{ Runs: >= 2 } cleanup] })
    {
        Console.WriteLine($"cron    cleanup: {cleanup.Runs} runs so far, next at {cleanup.NextRunAt:HH:mm:ss}; removed");
        await linda.RemoveScheduleAsync("quickstart", "cleanup");
        Settle("cleanup");
    }
    foreach (var id in new[] { "hello", "urgent", "later", "flaky", "poison", "heartbeat", "welcome" }.Where(id => !settled.ContainsKey(id)))
    {
        switch (await linda.GetJobAsync("quickstart", id))
        {
            case NotFound:
                Console.WriteLine($"done    {id}");
                Settle(id);
                break;
            case JobView { State: JobState.Buried } v:
                Console.WriteLine($"buried  {id} after {v.Reserves} attempts: {v.LastError}");
                Settle(id);
                break;
            case JobView { Job.IsPeriodic: true, Reserves: >= 2 } v:
                Console.WriteLine($"periodic {id}: {v.Reserves} runs so far, next at {v.DueAt:HH:mm:ss.fff}");
                Settle(id);
                break;
        }
    }
    await Task.Delay(100);
}

// The schedule's last run may still be running: the stats once it is done.
var stats = (QueueStats)await linda.GetStatsAsync("quickstart");
while ((stats.Ready > 0 || stats.Reserved > 0) && DateTime.UtcNow < deadline)
{
    await Task.Delay(100);
    stats = (QueueStats)await linda.GetStatsAsync("quickstart");
}
Console.WriteLine($"stats   ready={stats.Ready} delayed={stats.Delayed} reserved={stats.Reserved} buried={stats.Buried} total-jobs={stats.TotalJobs} pushes={stats.Commands["push"]} reserves={stats.Commands["reserve"]}");
await linda.DeleteAsync("quickstart", "heartbeat");
await host.StopAsync();
Console.WriteLine(allSettled.Task.IsCompleted ? "done" : "gave up waiting");
return allSettled.Task.IsCompleted ? 0 : 1;

/// <summary>A typed job's args: a record; its class is its type's name.</summary>
internal sealed record SendWelcome(string Email);

/// <summary>Its handler, from DI (a scope per job).</summary>
internal sealed class SendWelcomeHandler : IJobHandler<SendWelcome>
{
    public Task HandleAsync(SendWelcome args, JobContext context)
    {
        Console.WriteLine($"ran     {context.JobId}: welcome mail to {args.Email}");
        return Task.CompletedTask;
    }
}

/// <summary>The cron schedule's args.</summary>
internal sealed record Cleanup(string Folder);
