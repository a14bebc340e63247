using System.Collections.Concurrent;
using System.Diagnostics;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Linda.Tests;

/// <summary>
/// A process that pushes, completes and buries jobs is killed with SIGKILL in mid-stream; a new
/// ActorSystem on the same SQLite file has every job whose push was acknowledged, in the right state.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class CrashSpec(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Every_acknowledged_job_survives_a_SIGKILL_of_the_process()
    {
        var db = _folder.File("crash.db");
        var acked = new ConcurrentDictionary<string, bool>();
        var done = new ConcurrentDictionary<string, bool>();
        var buried = new ConcurrentDictionary<string, bool>();
        var verdictSent = new ConcurrentDictionary<string, bool>();
        var enough = new TaskCompletionSource();
        var errors = new ConcurrentQueue<string>();

        using var process = new Process { StartInfo = TestPrograms.Dotnet("Linda.Tests.CrashHost.dll", db) };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not { } line)
                return;
            var parts = line.Split(' ', 2);
            switch (parts[0])
            {
                case "ACK": acked[parts[1]] = true; break;
                case "DONE": done[parts[1]] = true; break;
                case "BURIED": buried[parts[1]] = true; break;
                case "SENDING": verdictSent[parts[1]] = true; break;
                case "FAILED": errors.Enqueue(line); break;
            }
            if (acked.Count >= 2000 && done.Count >= 30 && buried.Count >= 30)
                enough.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) errors.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var finished = await Task.WhenAny(enough.Task, Task.Delay(TimeSpan.FromMinutes(3)), process.WaitForExitAsync());
        Assert.True(finished == enough.Task, $"the host did not get far enough: {acked.Count} acks; {string.Join(" | ", errors.Take(5))}");
        process.Kill(entireProcessTree: true); // SIGKILL: no shutdown, no flush
        await process.WaitForExitAsync();
        // Lines still in the pipe when the process died were acknowledged too: read them all.
        process.WaitForExit();
        output.WriteLine($"killed after {acked.Count} acknowledged pushes, {done.Count} completions, {buried.Count} buries");
        Assert.DoesNotContain(errors, e => e.StartsWith("FAILED"));

        await using var node = QueueNode.Start(db, TimeProvider.System, name: "crash");
        var state = await node.State();
        var jobs = state.Jobs.ToDictionary(j => j.Job.Id);
        foreach (var id in acked.Keys)
        {
            if (done.ContainsKey(id))
                Assert.False(jobs.ContainsKey(id), $"{id} was completed before the crash but is back");
            else if (!verdictSent.ContainsKey(id)) // a completion in flight at the crash may or may not have landed
                Assert.True(jobs.ContainsKey(id), $"{id} was acknowledged but is lost");
        }
        foreach (var id in buried.Keys)
            Assert.Equal(JobState.Buried, jobs[id].State);
        Assert.True(state.NextSeq - 1 >= acked.Count);
    }
}
