using Akka.Actor;
using Akka.Configuration;
using Linda.Beanstalk;
using Linda.Persistence;
using Linda.Tests.Infrastructure;

namespace Linda.Tests.Beanstalk;

/// <summary>
/// Linda's beanstalkd front end for tests: one ActorSystem on its own SQLite file and the server on a
/// free loopback port. The one place specs start it, so they don't depend on how it is wired.
/// </summary>
public sealed class LindaBeanstalkServer : IAsyncDisposable
{
    private readonly TempFolder _folder;
    private readonly ActorSystem _system;
    private readonly BeanstalkServer _server;

    private LindaBeanstalkServer(TempFolder folder, ActorSystem system, BeanstalkServer server)
    {
        _folder = folder;
        _system = system;
        _server = server;
    }

    /// <summary>The port clients connect to on 127.0.0.1.</summary>
    public int Port => _server.Port;

    /// <summary>Starts a server; <paramref name="maxJobSize"/> is beanstalkd's <c>-z</c>.</summary>
    public static Task<LindaBeanstalkServer> StartAsync(int maxJobSize = 65_535)
    {
        var folder = new TempFolder();
        var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING");
        var system = ActorSystem.Create("beanstalk", SqlitePersistence.Setup(folder.File("linda.db"), config));
        var server = BeanstalkServer.Start(system, LindaSettings.Create(system), TestPrograms.FreePort(), maxJobSize);
        return Task.FromResult(new LindaBeanstalkServer(folder, system, server));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        await _system.Terminate();
        _folder.Dispose();
    }
}
