using System.Security.Cryptography.X509Certificates;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Linda.Tests;

/// <summary>
/// Three Linda nodes, each an OS process (tests/Linda.Tests.ClusterNode), whose remoting runs over mutual
/// TLS with certificate files as an operator gives them: a PKCS#12 file per node (its password in
/// LINDA_TLS_PASSWORD) and the authority's PEM certificate, all made at test time. Loopback, one
/// PostgreSQL database, the fast failover profile. The queue's node is SIGKILLed; the queue moves to a
/// survivor; no acknowledged job is lost. Nodes with the wrong certificate are refused, and say why.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class MultiProcessTlsSpec(PostgresFixture fixture, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan FailoverBound = TimeSpan.FromSeconds(90);

    private static readonly X509Certificate2 Authority = TestCertificates.Authority("Linda test authority");

    private readonly TempFolder _files = new("linda-tls");
    private readonly List<ClusterNodeProcess> _nodes = [];
    private string? _authorityFile;
    private string _db = "";

    public void Dispose()
    {
        foreach (var node in _nodes)
            node.Dispose();
        _files.Dispose();
    }

    private (string, string, string?) Files(string name, X509Certificate2 certificate, string? authority) =>
        (TestCertificates.WriteNode(_files, name, certificate), TestCertificates.Password, authority);

    private string AuthorityFile => _authorityFile ??= TestCertificates.WriteAuthority(_files, "authority", Authority);

    private ClusterNodeProcess Start(string name, string[] seeds, (string, string, string?) tls)
    {
        var node = ClusterNodeProcess.Start(name, TestPrograms.FreePort(), seeds, _db, profile: "fast", workers: 4, workMs: 10, tls: tls);
        _nodes.Add(node);
        return node;
    }

    private ClusterNodeProcess StartMember(string name, string[] seeds) =>
        Start(name, seeds, Files(name, TestCertificates.Node(Authority, "linda-" + name), AuthorityFile));

    [Fact]
    public async Task SIGKILL_of_the_queue_node_on_TLS_loses_no_acknowledged_job_and_runs_none_twice_on_the_survivors()
    {
        _db = await fixture.Server.CreateDatabaseAsync();
        var first = StartMember("n0", []);
        await Within(first.Up, StartBound, "n0 Up");
        StartMember("n1", [first.Address]);
        StartMember("n2", [first.Address]);
        await Within(Task.WhenAll(_nodes.Select(n => n.Up)), StartBound, "every node Up");
        Assert.StartsWith("akka.ssl.tcp://", first.Address);
        await Within(Task.WhenAny(_nodes.Select(n => n.QueueHere)), StartBound, "the queue's singleton started");
        var queueNode = _nodes.Single(n => n.QueueHere.IsCompleted);
        var survivors = _nodes.Where(n => n != queueNode).ToArray();

        var pushes = survivors.Select(n => n.PushAsync($"{n.Name}-before", 300)).ToList();
        await Until(() => queueNode.Runs.Count >= 20 && AllRuns().Count() >= 100, "jobs ran on every node before the kill");
        queueNode.Kill();
        output.WriteLine($"killed {queueNode.Name} (the queue's node) after {AllRuns().Count()} runs, {queueNode.Runs.Count} of them on it");

        pushes.AddRange(survivors.Select(n => n.PushAsync($"{n.Name}-during", 50)));
        await Within(Task.WhenAny(survivors.Select(n => n.QueueHere)), FailoverBound, "the queue's singleton started on a survivor");
        await Within(Task.WhenAll(pushes), FailoverBound, "every push answered");
        await Until(() => Lost().Count == 0, "every acknowledged job ran");

        var runs = AllRuns().ToList();
        var survivorNames = survivors.Select(n => n.Name).ToHashSet();
        var twice = runs.Where(r => survivorNames.Contains(r.Node)).GroupBy(r => r.JobId).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        output.WriteLine($"{survivors.Sum(n => n.Acked.Count)} pushes acknowledged, {survivors.Sum(n => n.Nacked.Count)} not; {runs.Count} runs");
        Assert.True(twice.Count == 0, $"jobs ran twice on the survivors: {string.Join(", ", twice.Take(20))}");
        Assert.NotEmpty(queueNode.Runs);
        Assert.All(_nodes, n => Assert.False(n.Logged("linda: TLS: refused"), $"{n.Name} refused a peer:\n{n.RecentLog()}"));
    }

    [Fact]
    public async Task Node_processes_with_the_wrong_certificate_are_refused_and_say_why()
    {
        _db = await fixture.Server.CreateDatabaseAsync();
        var member = StartMember("n0", []);
        await Within(member.Up, StartBound, "n0 Up");

        // A certificate of its own making, with the cluster's authority to trust: it stops before it starts.
        var selfMade = Start("self-made", [member.Address], Files("self-made", TestCertificates.SelfSigned("intruder"), AuthorityFile));
        await Within(selfMade.Exited, StartBound, "the self-made node to exit");
        Assert.Equal(2, selfMade.ExitCode);
        Assert.True(selfMade.Logged("linda: TLS: this node's certificate would be refused by the other nodes: its certificate 'CN=intruder' (self-signed"),
            selfMade.RecentLog());

        // Another authority's certificate, trusting that authority: refused both ways, and it says why.
        var other = TestCertificates.Authority("Intruder authority");
        var intruder = Start("intruder", [member.Address],
            Files("intruder", TestCertificates.Node(other, "intruder"), TestCertificates.WriteAuthority(_files, "other", other)));
        // Whichever end checks the other's certificate first says why (under TLS 1.3 the intruder checks the
        // member's before it sends its own; if the member refuses first, the intruder only sees it hang up).
        var intruderSaysWhy = $"linda: TLS: refused the connection with ssl.tcp://linda@127.0.0.1:{member.Port}: its certificate 'CN=linda-n0'";
        var memberSaysWhy = "its certificate 'CN=intruder' (issued by 'CN=Intruder authority'";
        await Until(() => intruder.Logged(intruderSaysWhy) || member.Logged(memberSaysWhy), "the intruder or the member to log why they can't connect");
        if (intruder.Logged(intruderSaysWhy))
            Assert.True(intruder.Logged("is not issued by 'CN=Intruder authority' (self-signed"), intruder.RecentLog());
        Assert.False(intruder.Up.IsCompleted, "the intruder became a member");
        var stats = await member.StatsAsync(TimeSpan.FromSeconds(20));
        Assert.NotNull(stats); // the member still serves its queue
    }

    private IEnumerable<ClusterNodeProcess.JobRun> AllRuns() => _nodes.SelectMany(n => n.Runs);

    private List<string> Lost()
    {
        var ran = AllRuns().Select(r => r.JobId).ToHashSet();
        return _nodes.SelectMany(n => n.Acked.Keys).Where(id => !ran.Contains(id)).ToList();
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

    private Task Until(Func<bool> condition, string what) =>
        Conditions.Until(condition, what, FailoverBound, () => $"acknowledged but not run: {string.Join(", ", Lost().Take(20))}\n{Logs()}");

    private string Logs() => string.Join("\n", _nodes.Select(n => n.RecentLog()));
}
