using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Linda.Tests.Beanstalk;
using Linda.Tests.Infrastructure;
using Xunit;

namespace Linda.Tests;

/// <summary>
/// src/Linda.Server with <c>--tls-cert</c>, <c>--tls-password</c> (or LINDA_TLS_PASSWORD) and
/// <c>--tls-ca</c>: two server processes on loopback and one PostgreSQL database form a cluster over
/// mutual TLS from certificate files made at test time, and serve one tube; bad TLS and cluster options
/// stop the server with exit code 2 and what is wrong.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class ServerTlsSpec(PostgresFixture fixture) : IDisposable
{
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(60);
    private static readonly X509Certificate2 Authority = TestCertificates.Authority("Linda test authority");

    private readonly TempFolder _files = new("linda-tls");
    private readonly List<LindaServerProcess> _servers = [];

    public void Dispose()
    {
        foreach (var server in _servers)
            server.Dispose();
        _files.Dispose();
    }

    private string NodeFile(string name) => TestCertificates.WriteNode(_files, name, TestCertificates.Node(Authority, "linda-" + name));

    private string AuthorityFile() => TestCertificates.WriteAuthority(_files, "authority", Authority);

    [Fact]
    public async Task Two_servers_on_mutual_TLS_form_one_cluster_and_serve_one_tube()
    {
        var db = await fixture.Server.CreateDatabaseAsync();
        var clusterPorts = new[] { TestPrograms.FreePort(), TestPrograms.FreePort() };
        var seed = $"akka.ssl.tcp://linda@127.0.0.1:{clusterPorts[0]}";
        var ca = AuthorityFile();
        string[] Common(int i) => ["--cluster-port", clusterPorts[i].ToString(CultureInfo.InvariantCulture), "--seed", seed, "--postgres", db, "--profile", "fast", "--tls-ca", ca];
        // The password on the command line for one, in the environment for the other.
        var n1 = Start(LindaServerProcess.Start("n1", TestPrograms.FreePort(), [.. Common(0), "--tls-cert", NodeFile("n1"), "--tls-password", TestCertificates.Password]));
        await n1.Listening.WaitAsync(StartBound);
        var n2 = Start(LindaServerProcess.Start("n2", TestPrograms.FreePort(), new Dictionary<string, string> { ["LINDA_TLS_PASSWORD"] = TestCertificates.Password },
            [.. Common(1), "--tls-cert", NodeFile("n2")]));
        await n2.Listening.WaitAsync(StartBound);

        // A job put through n2 is reserved through n1: the tubes' hub runs on one of them, across TLS for the other.
        using var producer = await BeanstalkClient.Connect(n2.Port, "producer");
        await producer.Use("work");
        var id = await producer.Put("over TLS");
        using var worker = await BeanstalkClient.Connect(n1.Port, "worker");
        Assert.Equal("WATCHING 2", await worker.Ask("watch work"));
        await worker.Reserve(id, "over TLS", "reserve-with-timeout 30");
        Assert.Equal("DELETED", await worker.Ask($"delete {id}"));

        Assert.All(new[] { n1, n2 }, n =>
        {
            Assert.Contains($"linda: TLS between nodes on akka.ssl.tcp://linda@127.0.0.1:{clusterPorts[n == n1 ? 0 : 1]}", n.RecentLog());
            Assert.DoesNotContain("linda: TLS: refused", n.RecentLog());
        });
    }

    [Theory]
    [InlineData("--tls-cert {self-made} --tls-password {password} --tls-ca {ca}",
        "--tls-cert: TLS: this node's certificate would be refused by the other nodes: its certificate 'CN=intruder' (self-signed")]
    [InlineData("--tls-cert {node} --tls-password wrong --tls-ca {ca}", "--tls-cert: TLS: can't read")]
    [InlineData("--tls-cert {missing} --tls-ca {ca}", "--tls-cert: TLS: no certificate file")]
    [InlineData("--tls-ca {ca}", "--tls-ca: there is no --tls-cert it goes with")]
    [InlineData("--seed akka.ssl.tcp://linda@127.0.0.1:4053", "--seed: 'akka.ssl.tcp://linda@127.0.0.1:4053' is a TLS address; give --tls-cert")]
    [InlineData("--tls-cert {node} --tls-password {password} --tls-ca {ca} --seed akka.tcp://linda@127.0.0.1:4053",
        "--seed: 'akka.tcp://linda@127.0.0.1:4053': with --tls-cert the seeds are TLS nodes, akka.ssl.tcp://linda@HOST:PORT")]
    [InlineData("--cluster-host 192.0.2.10", "--cluster-host: remoting on 192.0.2.10 without --tls-cert would let anyone who reaches that port join the cluster")]
    [InlineData("--cluster-host 0.0.0.0 --tls-cert {node} --tls-password {password} --tls-ca {ca}", "--cluster-host: 0.0.0.0 is no address other nodes can reach")]
    public async Task A_bad_TLS_or_cluster_option_exits_2_with_what_is_wrong(string args, string message)
    {
        var files = new Dictionary<string, string>
        {
            ["{node}"] = NodeFile("node"),
            ["{self-made}"] = TestCertificates.WriteNode(_files, "self-made", TestCertificates.SelfSigned("intruder")),
            ["{missing}"] = _files.File("missing.pfx"),
            ["{ca}"] = AuthorityFile(),
            ["{password}"] = TestCertificates.Password,
        };
        var words = args.Split(' ').Select(w => files.GetValueOrDefault(w, w)).ToArray();
        using var process = Process.Start(TestPrograms.Dotnet("Linda.Server.dll", ["--data", _files.File("data"), .. words]))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(bound.Token);
        Assert.True(process.ExitCode == 2, $"Linda.Server {args}: exit {process.ExitCode}\n{await stdout}\n{await stderr}");
        Assert.Contains(message, await stderr);
        Assert.DoesNotContain("LISTENING", await stdout);
    }

    private LindaServerProcess Start(LindaServerProcess server)
    {
        _servers.Add(server);
        return server;
    }
}
