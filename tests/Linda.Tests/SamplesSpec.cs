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

        Assert.Contains(lines, l => l.StartsWith("run") && l.Contains("hello world"));
        Assert.Contains(lines, l => l.StartsWith("run") && l.Contains("a b c"));
        Assert.Contains(lines, l => l.StartsWith("run     flaky") && l.Contains("attempt 3: worked"));
        Assert.Contains(lines, l => l.StartsWith("run     poison") && l.Contains("attempt 2: failed, retries used up: bury"));
        Assert.Contains(lines, l => l.StartsWith("run     heartbeat") && l.Contains("beat 2"));
        Assert.Contains(lines, l => l.StartsWith("refused heartbeat") && l.Contains("already exists"));
        // The urgent job is pushed after "hello" but both are ready together only if the worker lags; either way it runs.
        Assert.Contains(lines, l => l.StartsWith("run     urgent"));
        Assert.Contains("buried  poison: failed 2 times: bad input (kick it to run it again)", lines);
        Assert.Contains(lines, l => l.StartsWith("stats   ready=0 delayed=1 reserved=0 buried=1 total-jobs=6 pushes=7"));
        Assert.Equal("done", lines[^1]);
        Assert.True(File.Exists(Path.Combine(folder.Path, "linda.db")));
    }

    private async Task<List<string>> Run(string dll, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, dll), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
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
