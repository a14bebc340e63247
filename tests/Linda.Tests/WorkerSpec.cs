using System.Collections.Concurrent;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Linda.Hosting;
using Linda.Tests.Infrastructure;
using static Linda.Tests.Infrastructure.Conditions;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>The worker specs on Linda's default store, a SQLite file.</summary>
[Collection(DatabaseCollection.Name)]
public sealed class SqliteWorkerSpec : WorkerSpec
{
    protected override IQueueStore Store => new SqliteStore(Folder.File("linda.db"));

    protected override void UseStore(LindaOptions options) => options.SqlitePath = Folder.File("linda.db");
}

/// <summary>The worker specs on a shared PostgreSQL journal.</summary>
[Collection(DatabaseCollection.Name)]
public sealed class PostgresWorkerSpec(PostgresFixture postgres) : WorkerSpec
{
    private readonly string _connectionString = postgres.Server.CreateDatabaseAsync().GetAwaiter().GetResult();

    protected override IQueueStore Store => new PostgresStore(_connectionString);

    protected override void UseStore(LindaOptions options)
    {
        options.ConnectionString = _connectionString;
        options.ProviderName = PostgresStore.Provider;
    }
}

/// <summary>
/// Jobs end to end, as an application runs them: WithLinda on a one-node cluster (the queue is a
/// cluster singleton), workers pulling through the singleton proxy. One set of specs, run on each store.
/// Cluster profile: Akka's defaults (no node is killed here).
/// </summary>
public abstract class WorkerSpec : IDisposable
{
    protected TempFolder Folder { get; } = new();

    protected abstract IQueueStore Store { get; }

    protected abstract void UseStore(LindaOptions options);

    public void Dispose() => Folder.Dispose();

    private LindaOptions Options(int workers = 4, TimeSpan? grace = null)
    {
        var options = new LindaOptions
        {
            Queues = ["jobs"],
            WorkerNum = workers,
            RetryBackoffMin = TimeSpan.FromMilliseconds(50),
            RetryBackoffMax = TimeSpan.FromMilliseconds(200),
            ShutdownGrace = grace ?? TimeSpan.FromSeconds(10),
        };
        UseStore(options);
        return options;
    }

    [Fact]
    public async Task A_thousand_jobs_through_four_workers_each_complete_exactly_once()
    {
        var runs = new ConcurrentDictionary<string, int>();
        var workers = new ConcurrentDictionary<string, bool>();
        var all = new TaskCompletionSource();
        await using var node = await LindaHost.StartAsync(Options(workers: 4), h => h.Register("count", ctx =>
        {
            runs.AddOrUpdate(ctx.JobId, 1, (_, n) => n + 1);
            workers[ctx.Worker.Path.Name] = true;
            if (runs.Count == 1000)
                all.TrySetResult();
            return Task.CompletedTask;
        }));

        var pushes = Enumerable.Range(0, 1000).Select(i => node.Client.PushAsync("jobs", JobPayload.Create("count", i), $"job-{i}"));
        Assert.All(await Task.WhenAll(pushes), r => Assert.IsType<Pushed>(r));
        await all.Task.WaitAsync(Bound);

        var stats = await Eventually(async () => await node.Client.GetStatsAsync("jobs") is QueueStats { Jobs: 0 } s ? s : null, "an empty queue");
        Assert.Equal(1000, stats.TotalJobs);
        Assert.Equal(1000, runs.Count);
        Assert.All(runs, kv => Assert.Equal(1, kv.Value));
        Assert.True(workers.Count > 1, $"only {workers.Count} worker took part");
    }

    [Fact]
    public async Task Lindas_akka_settings_take_effect_in_a_hosted_system()
    {
        await using var node = await LindaHost.StartAsync(Options());
        var config = node.System.Settings.Config;
        Assert.Equal(TimeSpan.FromSeconds(30), config.GetTimeSpan("akka.coordinated-shutdown.phases.service-unbind.timeout"));
        Assert.IsType<Linda.Serialization.LindaSerializer>(node.System.Serialization.FindSerializerFor(new Push("jobs", JobPayload.Create("x"))));
        Assert.Equal(10_000, LindaSettings.Create(node.System).ProxyBufferSize);
    }

    [Fact]
    public async Task A_failing_job_is_retried_with_backoff_until_it_succeeds()
    {
        var attempts = new ConcurrentQueue<(int Attempt, DateTime At)>();
        var done = new TaskCompletionSource();
        await using var node = await LindaHost.StartAsync(Options(), h => h.Register("flaky", ctx =>
        {
            attempts.Enqueue((ctx.Attempt, DateTime.UtcNow));
            if (ctx.Attempt < 3)
                throw new InvalidOperationException($"failure {ctx.Attempt}");
            done.TrySetResult();
            return Task.CompletedTask;
        }));

        Assert.IsType<Pushed>(await node.Client.PushAsync(new Push("jobs", JobPayload.Create("flaky")) { Id = "flaky", MaxRetries = 5 }));
        await done.Task.WaitAsync(Bound);
        Assert.Equal([1, 2, 3], attempts.Select(a => a.Attempt));
        await Eventually(async () => await node.Client.GetJobAsync("jobs", "flaky") as NotFound, "the job to be completed");
    }

    [Fact]
    public async Task A_job_that_keeps_failing_is_buried_with_its_last_error_and_can_be_kicked_back()
    {
        var attempts = new ConcurrentQueue<int>();
        var fail = true;
        await using var node = await LindaHost.StartAsync(Options(), h => h.Register("doomed", ctx =>
        {
            attempts.Enqueue(ctx.Attempt);
            return fail ? throw new ArgumentException($"bad input {ctx.Attempt}") : Task.CompletedTask;
        }));

        await node.Client.PushAsync(new Push("jobs", JobPayload.Create("doomed")) { Id = "doomed", MaxRetries = 2 });
        var buried = await Eventually(async () => await node.Client.GetJobAsync("jobs", "doomed") is JobView { State: JobState.Buried } v ? v : null, "the job to be buried");
        Assert.Equal([1, 2, 3], attempts);
        Assert.Contains("failed 3 times", buried.LastError);
        Assert.Contains("ArgumentException: bad input 3", buried.LastError);
        Assert.Equal(2, buried.Releases);

        fail = false;
        Assert.IsType<KickedJob>(await node.Client.KickJobAsync("jobs", "doomed"));
        await Eventually(async () => await node.Client.GetJobAsync("jobs", "doomed") as NotFound, "the kicked job to be completed");
        Assert.Equal(1, attempts.Last());
    }

    [Fact]
    public async Task A_job_whose_class_has_no_handler_is_buried_with_that_reason()
    {
        await using var node = await LindaHost.StartAsync(Options(), h => h.RegisterWorker("known", _ => { }));
        await node.Client.PushAsync("jobs", JobPayload.Create("unknownClass", 1), "orphan");
        var buried = await Eventually(async () => await node.Client.GetJobAsync("jobs", "orphan") is JobView { State: JobState.Buried } v ? v : null, "the job to be buried");
        Assert.Contains("no handler for class 'unknownClass'", buried.LastError);
    }

    [Fact]
    public async Task A_periodic_job_runs_on_its_schedule_without_drift()
    {
        var runs = new ConcurrentQueue<DateTimeOffset>();
        await using var node = await LindaHost.StartAsync(Options(), h => h.Register("tick", ctx =>
        {
            runs.Enqueue(DateTimeOffset.UtcNow);
            return runs.Count == 2 ? throw new InvalidOperationException("a failed run does not stop the schedule") : Task.CompletedTask;
        }));
        await node.Client.PushAsync(new Push("jobs", JobPayload.Create("tick")) { Id = "tick", Period = TimeSpan.FromSeconds(1), MaxRetries = 0 });
        var created = ((JobView)await node.Client.GetJobAsync("jobs", "tick")).Job.CreatedAt;

        await Eventually(async () => runs.Count >= 4 ? "" : null, "four runs");
        var view = await Eventually(async () => await node.Client.GetJobAsync("jobs", "tick") is JobView { State: JobState.Delayed } v ? v : null, "the job to wait for its next run");
        var offset = view.DueAt!.Value - created;
        Assert.Equal(0, offset.Ticks % TimeSpan.TicksPerSecond);
        Assert.True(offset >= TimeSpan.FromSeconds(4), $"next run {offset} after creation");
    }

    [Fact]
    public async Task A_worker_killed_mid_job_has_its_job_run_again_at_once_on_another_worker()
    {
        var started = new ConcurrentQueue<(int Attempt, IActorRef Worker)>();
        var second = new TaskCompletionSource<IActorRef>();
        await using var node = await LindaHost.StartAsync(Options(workers: 2), h => h.Register("slow", async ctx =>
        {
            started.Enqueue((ctx.Attempt, ctx.Worker));
            if (ctx.Attempt == 1)
                await Task.Delay(Timeout.Infinite, ctx.CancellationToken);
            else
                second.TrySetResult(ctx.Worker);
        }));
        // A lease of ten minutes: only the worker's death can bring the job back this soon.
        await node.Client.PushAsync(new Push("jobs", JobPayload.Create("slow")) { Id = "slow", TimeToRun = TimeSpan.FromMinutes(10) });
        var first = await Eventually(async () => started.TryPeek(out var s) ? s.Worker : null, "the first attempt");

        node.System.Stop(first);
        var other = await second.Task.WaitAsync(Bound);
        Assert.NotEqual(first, other);
        var view = await Eventually(async () => await node.Client.GetJobAsync("jobs", "slow") as NotFound, "the job to be completed");
        Assert.Equal([1, 2], started.Select(s => s.Attempt));
    }

    [Fact]
    public async Task Shutdown_lets_running_jobs_finish_within_the_grace_period_and_releases_the_rest()
    {
        var finished = new ConcurrentQueue<string>();
        var running = new ConcurrentDictionary<string, bool>();
        var node = await LindaHost.StartAsync(Options(workers: 2, grace: TimeSpan.FromSeconds(2)), h => h.Register("sleep", async ctx =>
        {
            running[ctx.JobId] = true;
            await Task.Delay(ctx.Arg<int>(0), ctx.CancellationToken);
            finished.Enqueue(ctx.JobId);
        }));
        await node.Client.PushAsync("jobs", JobPayload.Create("sleep", 500), "short");
        await node.Client.PushAsync("jobs", JobPayload.Create("sleep", 600_000), "long");
        await Eventually(async () => running.Count == 2 ? "" : null, "both jobs to start");

        await node.DisposeAsync();
        Assert.Equal(["short"], finished);

        await using var after = QueueNode.Start(Store, TimeProvider.System);
        Assert.IsType<NotFound>(await after.Ask<IReply>(new GetJob("short")));
        var released = await after.Ask<JobView>(new GetJob("long"));
        Assert.Equal((JobState.Ready, 1, "released at shutdown"), (released.State, released.Releases, released.LastError));
    }

    [Fact]
    public async Task A_client_on_a_second_node_pushes_jobs_that_the_first_node_runs()
    {
        var ran = new ConcurrentDictionary<string, string>();
        await using var first = await LindaHost.StartAsync(Options(), h => h.Register("where", ctx =>
        {
            ran[ctx.JobId] = ctx.Worker.Path.Address.ToString();
            return Task.CompletedTask;
        }), roles: ["worker"]);
        var clientOptions = Options();
        clientOptions.WorkerRole = "worker";
        await using var second = await LindaHost.StartAsync(clientOptions, seed: first.Address, roles: ["client"]);

        Assert.Equal(["jobs"], second.Client.Queues);
        Assert.IsType<Pushed>(await second.Client.PushAsync("jobs", JobPayload.Create("where"), "from-second"));
        await Eventually(async () => ran.ContainsKey("from-second") ? "" : null, "the job to run");
        Assert.IsType<NotFound>(await second.Client.GetJobAsync("jobs", "from-second"));
        var stats = Assert.IsType<QueueStats>(await second.Client.GetStatsAsync("jobs"));
        Assert.Equal(1, stats.TotalJobs);
        Assert.IsType<Rejected>(await second.Client.PushAsync("nope", JobPayload.Create("where")));
        Assert.Empty(LindaNode.Get(second.System).WorkerPools);
    }

    private sealed class Greeter(ScopedCounter counter) : Linda.Workers.IJobHandler
    {
        public async Task HandleAsync(Linda.Workers.JobContext context)
        {
            counter.Add(context.Arg<string>(0)!);
            await context.Touch(); // renews the lease: the deadline moves forward
            if (context.Attempt == 1)
                context.Snooze(TimeSpan.FromMilliseconds(100)); // run again later, not a failure
        }
    }

    /// <summary>A scoped service: one instance per job.</summary>
    private sealed class ScopedCounter
    {
        public static readonly ConcurrentQueue<(ScopedCounter Scope, string Name)> Seen = new();
        public void Add(string name) => Seen.Enqueue((this, name));
    }

    [Fact]
    public async Task A_typed_handler_is_resolved_from_DI_in_a_scope_per_job_and_can_touch_and_snooze()
    {
        ScopedCounter.Seen.Clear();
        await using var node = await LindaHost.StartAsync(Options(), h => h.Register<Greeter>("greet"),
            services: s => s.AddScoped<ScopedCounter>());
        await node.Client.PushAsync(new Push("jobs", JobPayload.Create("greet", "ada")) { Id = "ada" });
        await node.Client.PushAsync(new Push("jobs", JobPayload.Create("greet", "bob")) { Id = "bob" });

        await Eventually(async () => await node.Client.GetJobAsync("jobs", "ada") is NotFound && await node.Client.GetJobAsync("jobs", "bob") is NotFound ? "" : null, "both jobs to complete");
        // Each job ran twice (snoozed once), each run in its own scope.
        Assert.Equal(4, ScopedCounter.Seen.Count);
        Assert.Equal(2, ScopedCounter.Seen.Count(s => s.Name == "ada"));
        Assert.Equal(4, ScopedCounter.Seen.Select(s => s.Scope).Distinct().Count());
    }

    // ---------------------------------------------------------------- typed jobs

    [Fact]
    public async Task A_typed_job_is_pushed_as_a_record_and_its_handler_gets_the_record_back_from_DI_beside_a_seed_style_handler()
    {
        ScopedCounter.Seen.Clear();
        var seedSaw = new ConcurrentQueue<string>();
        await using var node = await LindaHost.StartAsync(Options(), h => h
                .Register<SendWelcome, SendWelcomeHandler>()
                .RegisterWorker("printArgs", args => seedSaw.Enqueue(args[0].GetProperty("Email").GetString()!)),
            services: s => s.AddScoped<ScopedCounter>());

        var id = await node.Client.PushAsync(new SendWelcome("ada@example.com", 2));
        Assert.False(string.IsNullOrEmpty(id));
        await Eventually(async () => await node.Client.GetJobAsync("jobs", id) is NotFound ? "" : null, "the typed job to complete");
        Assert.Equal(["welcome ada@example.com x2"], ScopedCounter.Seen.Select(s => s.Name));

        // The same JSON under a seed-style class: both kinds share the queue.
        var json = System.Text.Encoding.UTF8.GetString(JobArgs.Payload(new SendWelcome("bob@example.com", 1)).Body.Span);
        Assert.IsType<Pushed>(await node.Client.PushAsync("jobs", JobPayload.FromJson("printArgs", json), "seed"));
        await Eventually(async () => seedSaw.TryPeek(out var email) ? email : null, "the seed-style handler to read the record's JSON");
        Assert.Equal("bob@example.com", Assert.Single(seedSaw));
    }

    [Fact]
    public async Task A_typed_job_whose_args_no_longer_read_as_its_record_is_buried_with_the_reason_and_not_retried()
    {
        var runs = 0;
        await using var node = await LindaHost.StartAsync(Options(), h => h.Register<SendWelcome>((_, _) =>
        {
            Interlocked.Increment(ref runs);
            return Task.CompletedTask;
        }));
        // Written by an older SendWelcome whose Email was called Address.
        await node.Client.PushAsync("jobs", JobPayload.FromJson(JobArgs.ClassOf<SendWelcome>(), """[{"Address":"ada@example.com","Times":1}]"""), "renamed");
        var buried = await Eventually(async () => await node.Client.GetJobAsync("jobs", "renamed") is JobView { State: JobState.Buried } v ? v : null, "the job to be buried");
        Assert.Contains("can't read the arg as SendWelcome", buried.LastError);
        Assert.Contains("Address", buried.LastError);
        Assert.Equal(1, buried.Attempt);
        Assert.Equal(0, runs);
    }

    [Fact]
    public async Task A_typed_push_answers_the_id_and_a_refusal_is_a_typed_exception_or_a_failed_result()
    {
        await using var node = await LindaHost.StartAsync(Options(), h => h.Register<SendWelcome>((_, _) => Task.CompletedTask));
        Assert.Equal("mine", await node.Client.PushAsync(new SendWelcome("ada@example.com", 1), new PushOptions { Id = "mine", Delay = TimeSpan.FromHours(1) }));
        Assert.Equal(JobState.Delayed, Assert.IsType<JobView>(await node.Client.GetJobAsync("jobs", "mine")).State);

        var refused = await Assert.ThrowsAsync<LindaRejectedException>(() => node.Client.PushAsync(new SendWelcome("ada@example.com", 1), new PushOptions { Delay = TimeSpan.FromSeconds(-1) }));
        Assert.Equal(RejectReason.InvalidDelay, refused.Reason);
        var again = await node.Client.TryPushAsync(new SendWelcome("ada@example.com", 1), new PushOptions { Id = "mine" });
        Assert.False(again.Ok);
        Assert.Equal(new AlreadyExists("mine"), again.Failure); // a first send that was answered: a real duplicate
        var nowhere = await node.Client.TryPushAsync(new SendWelcome("ada@example.com", 1), new PushOptions { Queue = "nowhere" });
        Assert.Equal(RejectReason.InvalidQueueName, Assert.IsType<Rejected>(nowhere.Failure).Reason);
    }

    [Fact]
    public async Task A_cron_schedule_runs_its_typed_job_once_at_each_occurrence_on_the_real_clock()
    {
        var runs = new ConcurrentQueue<(string Id, DateTimeOffset At, string Email)>();
        await using var node = await LindaHost.StartAsync(Options(), h => h.Register<SendWelcome>((args, ctx) =>
        {
            runs.Enqueue((ctx.JobId, DateTimeOffset.UtcNow, args.Email));
            return Task.CompletedTask;
        }));
        var next = await node.Client.AddOrUpdateScheduleAsync("every-second", "* * * * * *", new SendWelcome("ops@example.com", 1));
        Assert.NotNull(next);
        await Until(() => runs.Count >= 3, "three runs of the every-second schedule");
        Assert.IsType<ScheduleRemoved>(await node.Client.RemoveScheduleAsync("jobs", "every-second"));

        var seen = runs.ToArray();
        Assert.Equal(seen.Length, seen.Select(r => r.Id).Distinct().Count());
        foreach (var (id, at, email) in seen)
        {
            Assert.Equal("ops@example.com", email);
            Assert.StartsWith("every-second/", id);
            var occurrence = DateTimeOffset.ParseExact(id["every-second/".Length..], JobQueueState.RunIdTimeFormat, System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AssumeUniversal);
            Assert.True(at >= occurrence, $"{id} ran at {at:O}, before its occurrence");
        }
        await Assert.ThrowsAsync<LindaRejectedException>(() => node.Client.AddOrUpdateScheduleAsync("bad", "* * *", new SendWelcome("x", 1)));
    }

    [Fact]
    public async Task Cancelling_a_running_job_fires_its_handlers_token_at_once_and_the_job_ends_cancelled_not_retried()
    {
        var started = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sawCancel = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        await using var node = await LindaHost.StartAsync(Options(), h => h.Register("long", async ctx =>
        {
            Interlocked.Increment(ref runs);
            started.TrySetResult(ctx.JobId);
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, ctx.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                sawCancel.TrySetResult(ctx.JobId);
                throw;
            }
        }));
        await node.Client.PushAsync(new Push("jobs", JobPayload.Create("long")) { Id = "long", TimeToRun = TimeSpan.FromMinutes(10) });
        Assert.Equal("long", await started.Task.WaitAsync(Bound));

        Assert.Equal(new Cancelled("long", WasRunning: true), await node.Client.CancelAsync("jobs", "long"));
        Assert.Equal("long", await sawCancel.Task.WaitAsync(Bound)); // pushed to the worker: no poll, no lease timeout
        await Eventually(async () => await node.Client.GetJobAsync("jobs", "long") as NotFound, "the cancelled job to be gone");
        var stats = Assert.IsType<QueueStats>(await node.Client.GetStatsAsync("jobs"));
        Assert.Equal(1, stats.Cancelled);
        Assert.Equal(1, runs); // not retried
    }

    [Fact]
    public async Task A_unique_typed_push_while_its_key_is_taken_names_the_existing_job_and_pushes_nothing()
    {
        await using var node = await LindaHost.StartAsync(Options(workers: 0));
        var first = await node.Client.PushAsync(new SendWelcome("ada@example.com", 1), new PushOptions { UniqueByArgs = true, Delay = TimeSpan.FromHours(1) });
        var again = await node.Client.TryPushAsync(new SendWelcome("ada@example.com", 1), new PushOptions { UniqueByArgs = true });
        Assert.Equal(new AlreadyExists(first), again.Failure);
        Assert.True((await node.Client.TryPushAsync(new SendWelcome("bob@example.com", 1), new PushOptions { UniqueByArgs = true })).Ok); // other args
        Assert.Equal(2, Assert.IsType<QueueStats>(await node.Client.GetStatsAsync("jobs")).Jobs);
        var key = Assert.IsType<JobView>(await node.Client.GetJobAsync("jobs", first)).Job.UniqueKey;
        Assert.StartsWith("args:", key);
    }

    [Fact]
    public async Task A_run_longer_than_its_timeout_is_cancelled_and_counts_as_a_failure()
    {
        var attempts = new ConcurrentQueue<int>();
        await using var node = await LindaHost.StartAsync(Options(), h => h.Register("slow", async ctx =>
        {
            attempts.Enqueue(ctx.Attempt);
            await Task.Delay(Timeout.InfiniteTimeSpan, ctx.CancellationToken); // ends only when cancelled
        }));
        await node.Client.PushAsync(new Push("jobs", JobPayload.Create("slow")) { Id = "slow", Timeout = TimeSpan.FromMilliseconds(300), MaxRetries = 1, TimeToRun = TimeSpan.FromMinutes(10) });
        var buried = await Eventually(async () => await node.Client.GetJobAsync("jobs", "slow") is JobView { State: JobState.Buried } v ? v : null, "the job to be buried after two timed-out runs");
        Assert.Contains("took longer than its timeout of 0.3 s", buried.LastError);
        Assert.Equal([1, 2], attempts); // each timeout was a failed attempt, retried, then buried
        Assert.Equal(TimeSpan.FromMilliseconds(300), buried.Job.Timeout);
        Assert.Equal(RejectReason.InvalidTimeToRun, Assert.IsType<Rejected>(await node.Client.PushAsync(new Push("jobs", JobPayload.Create("slow")) { Timeout = TimeSpan.Zero })).Reason);
    }

    [Fact]
    public async Task A_handlers_progress_is_visible_with_its_job_while_it_runs()
    {
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var node = await LindaHost.StartAsync(Options(), h => h.Register("report", async ctx =>
        {
            ctx.ReportProgress(60, "resized 6 of 10");
            await finish.Task.WaitAsync(ctx.CancellationToken);
        }));
        await node.Client.PushAsync(new Push("jobs", JobPayload.Create("report")) { Id = "report" });
        var view = await Eventually(async () => await node.Client.GetJobAsync("jobs", "report") is JobView { Progress: 60 } v ? v : null, "the progress to show");
        Assert.Equal("resized 6 of 10", view.ProgressMessage);
        Assert.Equal(JobState.Reserved, view.State);
        finish.SetResult();
        await Eventually(async () => await node.Client.GetJobAsync("jobs", "report") as NotFound, "the job to complete");
    }

    [Fact]
    public async Task With_a_limit_of_one_per_key_no_two_jobs_of_a_key_run_at_once_and_other_keys_go_ahead()
    {
        var running = new ConcurrentDictionary<string, int>();
        var overlaps = 0;
        var done = new ConcurrentBag<string>();
        await using var node = await LindaHost.StartAsync(Options(workers: 4), h => h.Register("tenant", async ctx =>
        {
            var key = ctx.Job.ConcurrencyKey!;
            if (running.AddOrUpdate(key, 1, (_, n) => n + 1) > 1)
                Interlocked.Increment(ref overlaps);
            await Task.Delay(20, ctx.CancellationToken);
            running.AddOrUpdate(key, 0, (_, n) => n - 1);
            done.Add(ctx.JobId);
        }), hocon: "linda.queue.max-concurrent-per-key = 1");
        for (var i = 0; i < 30; i++)
            await node.Client.PushAsync(new Push("jobs", JobPayload.Create("tenant")) { Id = $"t{i}", ConcurrencyKey = $"tenant-{i % 3}" });
        await Until(() => done.Count == 30, "every job to run");
        Assert.Equal(0, overlaps);
    }

    private sealed record SendWelcome(string Email, int Times);

    private sealed class SendWelcomeHandler(ScopedCounter counter) : Linda.Workers.IJobHandler<SendWelcome>
    {
        public Task HandleAsync(SendWelcome args, Linda.Workers.JobContext context)
        {
            counter.Add($"welcome {args.Email} x{args.Times}");
            return Task.CompletedTask;
        }
    }
}
