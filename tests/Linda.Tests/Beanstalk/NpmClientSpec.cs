using System.Diagnostics;
using System.Text;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Linda.Tests.Beanstalk;

/// <summary>
/// A third-party beanstalkd client drives Linda's server: tests/npm-client/scenario.mjs runs a job's
/// whole life with jackd (from npm) and prints "OK" when every reply was the expected one. The same
/// script against the real beanstalkd is the control: if that fails too, the script is broken, not Linda.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class NpmClientSpec(ITestOutputHelper output)
{
    [Fact]
    public async Task The_jackd_scenario_runs_against_Linda()
    {
        await using var linda = await LindaBeanstalkServer.StartAsync();
        await RunScenario(linda.Port);
    }

    [Fact]
    public async Task The_jackd_scenario_runs_against_beanstalkd_as_a_control()
    {
        await using var beanstalkd = await BeanstalkdProcess.StartAsync();
        await RunScenario(beanstalkd.Port);
    }

    private async Task RunScenario(int port)
    {
        var folder = ClientFolder();
        if (!Directory.Exists(Path.Combine(folder, "node_modules", "jackd")))
        {
            var (ciExit, ciOutput) = await Run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], folder, TimeSpan.FromMinutes(5));
            Assert.True(ciExit == 0, $"npm ci in {folder} exited with {ciExit}:\n{ciOutput}");
        }

        var (exit, text) = await Run("node", ["scenario.mjs", port.ToString()], folder, TimeSpan.FromMinutes(2));
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(exit == 0 && lines is [.., "OK"], $"node scenario.mjs {port} exited with {exit} (0 and a last line \"OK\" expected); its output:\n{text}");
        output.WriteLine(text);
    }

    /// <summary>tests/npm-client in the repository.</summary>
    private static string ClientFolder() => Path.Combine(TestPrograms.RepositoryRoot(), "tests", "npm-client");

    /// <summary>Runs a program to its end; returns its exit code and its stdout and stderr, interleaved as they came.</summary>
    private static async Task<(int Exit, string Output)> Run(string program, string[] args, string folder, TimeSpan bound)
    {
        var start = new ProcessStartInfo(program, args)
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var text = new StringBuilder();
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"can't run '{program}' ({e.Message}): install Node.js and npm (.ci/run does: apt-get install nodejs npm)", e);
        }
        using (process)
        {
            DataReceivedEventHandler collect = (_, e) =>
            {
                if (e.Data is not null)
                    lock (text)
                        text.AppendLine(e.Data);
            };
            process.OutputDataReceived += collect;
            process.ErrorDataReceived += collect;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            using var timeout = new CancellationTokenSource(bound);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                lock (text)
                    text.AppendLine($"<killed: still running after {bound.TotalSeconds:0} s>");
            }
            // WaitForExitAsync also waits for the end of the redirected output
            lock (text)
                return (process.ExitCode, text.ToString());
        }
    }
}
