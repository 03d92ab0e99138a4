namespace Glance.Api.Tests.Support;

/// <summary>
/// A started server with a temporary directory of its own (data under <see cref="DataDirectory"/>),
/// both gone on dispose: what every fixture with its own configuration needs.
/// </summary>
public sealed class GlanceServer : IAsyncDisposable
{
    private readonly TempDirectory _directory = new();

    /// <summary>
    /// Starts the server; <paramref name="settings"/> gets the temporary directory (for files a
    /// setting names) and returns configuration on top of the defaults.
    /// </summary>
    public GlanceServer(Func<string, IReadOnlyDictionary<string, string?>>? settings = null)
    {
        DataDirectory = Path.Combine(_directory.Path, "data");
        Factory = new GlanceFactory(DataDirectory, settings?.Invoke(_directory.Path)).Start();
    }

    /// <summary>The running server.</summary>
    public GlanceFactory Factory { get; }

    /// <summary>A client of the running server.</summary>
    public GlanceClient Client => Factory.Client;

    /// <summary>The data directory the server writes.</summary>
    public string DataDirectory { get; }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Factory.DisposeAsync();
        _directory.Dispose();
    }
}
