using System.Diagnostics;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Linda.Tests;

/// <summary>
/// Three Linda nodes, each an OS process (tests/Linda.Tests.ClusterNode), on loopback with one
/// PostgreSQL database and the fast failover profile. Jobs flow; the process that hosts the queue's
/// singleton is SIGKILLed; the queue moves to a survivor and serves again.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class MultiProcessSpec(PostgresFixture fixture, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan FailoverBound = TimeSpan.FromSeconds(90);

    private readonly List<ClusterNodeProcess> _nodes = [];
    private readonly HashSet<string> _pushed = [];
    private string _db = "";

    public void Dispose()
    {
        foreach (var node in _nodes)
            node.Dispose();
    }

    [Fact]
    public async Task SIGKILL_of_the_queue_node_loses_no_acknowledged_job_and_runs_none_twice_on_the_survivors()
    {
        _db = await fixture.Server.CreateDatabaseAsync();
        var first = Start("n0", []);
        await Within(first.Up, StartBound, "n0 Up");
        Start("n1", [first.Address]);
        Start("n2", [first.Address]);
        await Within(Task.WhenAll(_nodes.Select(n => n.Up)), StartBound, "every node Up");
        await Within(Task.WhenAny(_nodes.Select(n => n.QueueHere)), StartBound, "the queue's singleton started");
        var queueNode = _nodes.Single(n => n.QueueHere.IsCompleted);
        var survivors = _nodes.Where(n => n != queueNode).ToArray();

        // Jobs flow: the survivors push, every node runs; the queue's node dies with leases of its own.
        var pushes = survivors.Select(n => Push(n, "before", 400)).ToList();
        await Until(() => queueNode.Runs.Count >= 20 && AllRuns().Count() >= 100, TimeSpan.FromSeconds(60), "jobs ran on every node before the kill");
        var killedAt = Stopwatch.GetTimestamp();
        queueNode.Kill();
        var runsBeforeKill = AllRuns().Count();
        output.WriteLine($"killed {queueNode.Name} (the queue's node) after {runsBeforeKill} runs, {queueNode.Runs.Count} of them on it");

        // Pushed while the queue has no node: acknowledged once it runs on a survivor (or refused).
        pushes.AddRange(survivors.Select(n => Push(n, "during", 50)));
        await Within(Task.WhenAny(survivors.Select(n => n.QueueHere)), FailoverBound, "the queue's singleton started on a survivor");
        await Within(Task.WhenAll(pushes), FailoverBound, "every push answered");

        // Drained: every acknowledged job ran, and the queue is empty.
        await Until(async () => Lost().Count == 0 && await Empty(survivors), FailoverBound, "every acknowledged job ran and the queue is empty");
        var drainedAt = Stopwatch.GetTimestamp();

        // The cluster keeps serving.
        var finals = await Within(Task.WhenAll(survivors.Select(n => Push(n, "after", 20))), FailoverBound, "pushes after the failover answered");
        Assert.All(finals, r => Assert.Equal(new ClusterNodeProcess.PushResult(20, 0), r));
        await Until(async () => Lost().Count == 0 && await Empty(survivors), FailoverBound, "the jobs pushed after the failover ran");

        var runs = AllRuns().ToList();
        var acked = survivors.SelectMany(n => n.Acked.Keys).ToHashSet();
        var newQueueNode = survivors.Single(n => n.QueueHere.IsCompleted);
        output.WriteLine($"queue moved to {newQueueNode.Name} {Ms(killedAt, await newQueueNode.QueueHere)} ms after the kill; " +
                         $"first run of a job pushed after the kill at {Ms(killedAt, runs.Where(r => r.JobId.Contains("-during-")).Min(r => r.At))} ms; drained at {Ms(killedAt, drainedAt)} ms");
        output.WriteLine($"{acked.Count} pushes acknowledged, {survivors.Sum(n => n.Nacked.Count)} not; {runs.Count} runs " +
                         $"({string.Join(", ", _nodes.Select(n => $"{n.Name}: {n.Runs.Count}"))}); " +
                         $"{runs.GroupBy(r => r.JobId).Count(g => g.Count() > 1)} jobs ran twice");

        Assert.Empty(Lost());
        Assert.All(runs, r => Assert.Contains(r.JobId, _pushed));
        // At least once, and only the crash repeats a job: a job runs again only if its lease was on
        // the killed node (its run there may or may not have printed). On the survivors, and on the
        // killed node itself, each job ran at most once.
        var survivorNames = survivors.Select(n => n.Name).ToHashSet();
        var twiceOnSurvivors = runs.Where(r => survivorNames.Contains(r.Node)).GroupBy(r => r.JobId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(r => $"attempt {r.Attempt} on {r.Node}"))}").ToList();
        Assert.True(twiceOnSurvivors.Count == 0, $"jobs ran twice on the survivors: {string.Join("; ", twiceOnSurvivors.Take(20))}");
        Assert.DoesNotContain(queueNode.Runs.GroupBy(r => r.JobId), g => g.Count() > 1);
        // The failover happened as a failover: the queue's node ran jobs, the queue restarted on a survivor.
        Assert.NotEmpty(queueNode.Runs);
        Assert.False(newQueueNode.QueueGone.IsCompleted, $"the queue stopped again on {newQueueNode.Name}");
    }

    private ClusterNodeProcess Start(string name, string[] seeds)
    {
        var node = ClusterNodeProcess.Start(name, TestPrograms.FreePort(), seeds, _db, profile: "fast", workers: 4, workMs: 10);
        _nodes.Add(node);
        return node;
    }

    /// <summary>Pushes jobs NODE-PHASE-0.. from <paramref name="node"/>, noting their ids.</summary>
    private Task<ClusterNodeProcess.PushResult> Push(ClusterNodeProcess node, string phase, int count)
    {
        var prefix = $"{node.Name}-{phase}";
        _pushed.UnionWith(Enumerable.Range(0, count).Select(i => $"{prefix}-{i}"));
        return node.PushAsync(prefix, count);
    }

    private IEnumerable<ClusterNodeProcess.JobRun> AllRuns() => _nodes.SelectMany(n => n.Runs);

    /// <summary>Acknowledged job ids that have not run (yet).</summary>
    private List<string> Lost()
    {
        var ran = AllRuns().Select(r => r.JobId).ToHashSet();
        return _nodes.SelectMany(n => n.Acked.Keys).Where(id => !ran.Contains(id)).ToList();
    }

    private static async Task<bool> Empty(IEnumerable<ClusterNodeProcess> nodes)
    {
        foreach (var node in nodes)
        {
            if (await node.StatsAsync(TimeSpan.FromSeconds(20)) is not { Empty: true })
                return false;
        }
        return true;
    }

    private static long Ms(long from, long to) => (long)Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    private async Task<T> Within<T>(Task<T> task, TimeSpan bound, string what)
    {
        await Within((Task)task, bound, what);
        return await task;
    }

    private async Task Within(Task task, TimeSpan bound, string what)
    {
        try
        {
            await task.WaitAsync(bound);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"not within {bound.TotalSeconds} s: {what}\n{Logs()}");
        }
    }

    private Task Until(Func<bool> condition, TimeSpan bound, string what) => Until(() => Task.FromResult(condition()), bound, what);

    private Task Until(Func<Task<bool>> condition, TimeSpan bound, string what) =>
        Conditions.Until(condition, what, bound, () => $"acknowledged but not run: {string.Join(", ", Lost().Take(20))}\n{Logs()}");

    private string Logs() => string.Join("\n", _nodes.Select(n => n.RecentLog()));
}
