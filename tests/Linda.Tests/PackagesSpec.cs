using System.Diagnostics;
using System.IO.Compression;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Linda.Tests;

/// <summary>
/// What a user does: <c>dotnet pack</c> the repository into a folder, then build and run a fresh
/// console app, outside the repository, that references Linda's packages from that folder only (a
/// version no other feed has, and package source mapping sends <c>Linda*</c> nowhere else), and
/// runs a job on an embedded SQLite file. Real <c>dotnet</c> processes.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class PackagesSpec(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Packages = ["Linda", "Linda.Hosting", "Linda.Persistence.Sql", "Linda.Beanstalk", "Linda.Dashboard", "Linda.Redis", "Linda.RabbitMQ"];
    private readonly TempFolder _folder = new("linda-packages");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task The_packages_are_complete_a_fresh_app_builds_from_them_alone_and_runs_a_job()
    {
        var version = $"0.0.0-spec.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        var feed = Directory.CreateDirectory(Path.Combine(_folder.Path, "feed")).FullName;
        // Each package's project, built apart (--artifacts-path) so the repository's own outputs, which
        // other specs run, are not touched.
        var artifacts = Path.Combine(_folder.Path, "artifacts");
        foreach (var id in Packages)
            await Run("dotnet", ["pack", Path.Combine(TestPrograms.RepositoryRoot(), "src", id, id + ".csproj"), "-c", "Release", "-o", feed,
                "--artifacts-path", artifacts, $"-p:Version={version}", "-v", "q"], TestPrograms.RepositoryRoot());

        foreach (var id in Packages)
        {
            var nupkg = Path.Combine(feed, $"{id}.{version}.nupkg");
            Assert.True(File.Exists(nupkg), $"no package {id}");
            Assert.True(File.Exists(Path.Combine(feed, $"{id}.{version}.snupkg")), $"no symbols package for {id}");
            using var zip = ZipFile.OpenRead(nupkg);
            var entries = zip.Entries.Select(e => e.FullName).ToArray();
            Assert.Contains("README.md", entries);
            Assert.Contains($"lib/net10.0/{id}.dll", entries);
            Assert.Contains($"lib/net10.0/{id}.xml", entries); // the XML docs
            using var nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            var manifest = await nuspec.ReadToEndAsync();
            Assert.Contains("<license type=\"expression\">MIT</license>", manifest);
            Assert.Contains("<description>", manifest);
            Assert.Contains("<readme>README.md</readme>", manifest);
        }

        // The linda tool: packed, installed from the folder as a user would, and run.
        await Run("dotnet", ["pack", Path.Combine(TestPrograms.RepositoryRoot(), "src", "Linda.Cli", "Linda.Cli.csproj"), "-c", "Release", "-o", feed,
            "--artifacts-path", artifacts, $"-p:Version={version}", "-v", "q"], TestPrograms.RepositoryRoot());
        Assert.True(File.Exists(Path.Combine(feed, $"Linda.Cli.{version}.nupkg")), "no package of the linda tool");
        var tools = Path.Combine(_folder.Path, "tools");
        await Run("dotnet", ["tool", "install", "Linda.Cli", "--version", version, "--tool-path", tools, "--add-source", feed], _folder.Path);
        var help = await Run(Path.Combine(tools, "linda"), ["--help"], _folder.Path);
        Assert.Contains("usage: linda COMMAND", help);

        var app = Directory.CreateDirectory(Path.Combine(_folder.Path, "app")).FullName;
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="linda" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="linda"><package pattern="Linda*" /></packageSource>
                <packageSource key="nuget.org"><package pattern="*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <NoWarn>NU1603</NoWarn>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Linda.Hosting" Version="{version}" />
                <PackageReference Include="Microsoft.Extensions.Hosting" Version="10.0.5" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
            using Akka.Cluster;
            using Akka.Cluster.Hosting;
            using Akka.Hosting;
            using Akka.Remote.Hosting;
            using Linda;
            using Linda.Hosting;
            using Microsoft.Extensions.DependencyInjection;
            using Microsoft.Extensions.Hosting;

            var ran = new TaskCompletionSource<string>();
            var db = Path.Combine(AppContext.BaseDirectory, "linda.db");
            var host = new HostBuilder().ConfigureServices(services =>
            {
                services.AddLindaClient();
                services.AddAkka("app", (akka, _) => akka
                    .WithRemoting("127.0.0.1", 0)
                    .WithClustering(new ClusterOptions())
                    .AddStartup((system, _) => Cluster.Get(system).Join(Cluster.Get(system).SelfAddress))
                    .WithLinda(new LindaOptions { Queues = ["mail"], SqlitePath = db, WorkerNum = 1 },
                        handlers => handlers.Register("send", ctx => { ran.TrySetResult(ctx.JobId); return Task.CompletedTask; })));
            }).Build();
            await host.StartAsync();
            var client = host.Services.GetRequiredService<ILindaClient>();
            var reply = await client.PushAsync("mail", JobPayload.Create("send", "ada@example.com"), "welcome-1");
            Console.WriteLine($"pushed: {reply}");
            Console.WriteLine($"ran: {await ran.Task.WaitAsync(TimeSpan.FromSeconds(60))}");
            await host.StopAsync();
            """);
        var run = await Run("dotnet", ["run", "-c", "Release"], app);
        Assert.Contains("ran: welcome-1", run);
        Assert.Contains("pushed: Pushed", run);

        // The app was built from the folder's packages: its assets name them at that version.
        var assets = await File.ReadAllTextAsync(Path.Combine(app, "obj", "project.assets.json"));
        foreach (var id in new[] { "Linda", "Linda.Hosting", "Linda.Persistence.Sql" })
            Assert.Contains($"\"{id}/{version}\"", assets);
    }

    private async Task<string> Run(string file, string[] args, string workingDirectory)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        // Not the repository's build settings: the app is a stranger's.
        psi.Environment.Remove("MSBuildExtensionsPath");
        psi.Environment.Remove("MSBUILD_EXE_PATH");
        psi.Environment.Remove("MSBuildSDKsPath");
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        var text = await stdout + await stderr;
        output.WriteLine($"$ {file} {string.Join(' ', args)}  (exit {process.ExitCode})\n{text}");
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)} failed ({process.ExitCode}):\n{text}");
        return text;
    }
}
