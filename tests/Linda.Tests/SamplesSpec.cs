using System.Diagnostics;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Linda.Tests;

/// <summary>The samples are part of the test surface: each is run and what it prints is checked.</summary>
[Collection(DatabaseCollection.Name)]
public sealed class SamplesSpec(ITestOutputHelper output)
{
    [Fact]
    public async Task Quickstart_runs_every_kind_of_job_and_prints_the_final_stats()
    {
        using var folder = new TempFolder("linda-quickstart");
        var lines = await Run("Quickstart.dll", "--data", folder.Path);

        Assert.Contains("ran     printArgs [\"hello\",\"world\"]", lines);
        Assert.Contains("ran     printArgs [\"urgent\"]", lines);
        Assert.Contains("ran     printArgs [\"a\",\"b\",\"c\"]", lines);
        Assert.Contains("ran     flaky: worked on attempt 3", lines);
        Assert.Contains(lines, l => l.StartsWith("buried  poison after 2 attempts: failed 2 times; last error: FormatException"));
        Assert.Contains(lines, l => l.StartsWith("refused heartbeat") && l.EndsWith("already exists"));
        Assert.Contains(lines, l => l.StartsWith("periodic heartbeat: 2 runs so far"));
        foreach (var id in new[] { "hello", "urgent", "later", "flaky", "welcome" })
            Assert.Contains($"done    {id}", lines);
        Assert.Contains("ran     welcome: welcome mail to ada@example.com", lines);
        Assert.Contains(lines, l => l.StartsWith("cron    cleanup: ") && l.EndsWith("; removed"));
        Assert.True(lines.Count(l => l.StartsWith("ran     cleanup/") && l.EndsWith(": cleaned /tmp/uploads")) >= 2, "the cron schedule ran at least twice");
        // Seven pushes were taken (one refused), the schedule's runs are jobs too.
        Assert.Contains(lines, l => l.StartsWith("stats   ready=0 delayed=1 reserved=0 buried=1 total-jobs=") && l.Contains(" pushes=8 "));
        Assert.Equal("done", lines[^1]);
        Assert.True(File.Exists(Path.Combine(folder.Path, "linda.db")));
    }

    [Fact]
    public async Task PushJobs_joins_the_PrintArgs_cluster_and_its_job_is_printed()
    {
        using var folder = new TempFolder("linda-printargs");
        var port = TestPrograms.FreePort();
        using var printArgs = await StartPrintArgs("--port", port.ToString(), "--data", folder.Path);
        var lines = await Run("PushJobs.dll", "--seed", $"akka.tcp://linda@127.0.0.1:{port}");
        Assert.Contains(lines, l => l.StartsWith("pushed job 1 to queue 'test': printArgs a b c, every 60 s, 3 retries"));
        Assert.Equal("printArgs: a b c", await printArgs.FirstPrinted.WaitAsync(TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public async Task A_go_format_producer_writes_to_redis_and_PrintArgs_with_the_bridge_prints_its_job()
    {
        await using var redis = await RedisServer.StartAsync();
        using var folder = new TempFolder("linda-printargs-redis");
        using var printArgs = await StartPrintArgs("--port", TestPrograms.FreePort().ToString(), "--data", folder.Path, "--redis", redis.Url);
        // The Go example's push_jobs, as a script: id "1", printArgs a b c, every 60 s, 3 retries.
        var script = Path.Combine(TestPrograms.RepositoryRoot(), "tests", "go-producer", "push_jobs.sh");
        using (var producer = Process.Start(new ProcessStartInfo("bash", [script, redis.Port.ToString()]) { RedirectStandardOutput = true, UseShellExecute = false })!)
        {
            Assert.Equal("pushed 1 to queue:test", (await producer.StandardOutput.ReadToEndAsync()).Trim());
            await producer.WaitForExitAsync();
            Assert.Equal(0, producer.ExitCode);
        }
        Assert.Equal("printArgs: a b c", await printArgs.FirstPrinted.WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Equal(0, await redis.Db.ListLengthAsync("queue:test"));
    }

    /// <summary>Starts PrintArgs and waits until its workers are up; what it prints goes to the test's output.</summary>
    private Task<PrintArgsProcess> StartPrintArgs(params string[] args) =>
        PrintArgsProcess.StartAsync(line => output.WriteLine("PrintArgs: " + line), args);

    private async Task<List<string>> Run(string dll, params string[] args)
    {
        using var process = Process.Start(TestPrograms.Dotnet(dll, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(cts.Token);
        var text = await stdout;
        output.WriteLine(text);
        output.WriteLine(await stderr);
        Assert.Equal(0, process.ExitCode);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
    }
}
