using Microsoft.AspNetCore.Hosting.Server;

namespace Glance.Api.Hosting;

/// <summary>
/// Bounds the HTTP drain at shutdown. The host gives every hosted service one shared token
/// (HostOptions.ShutdownTimeout, 30 s by default) and Kestrel, stopped first, waits on it for every
/// unfinished request: one client that stalls mid-request held Ctrl+C / SIGTERM for 30 s and left
/// the silo an already-cancelled token (non-graceful stop). Here Kestrel is stopped before the
/// other services with its own shorter budget, so the silo still stops gracefully within the total.
/// </summary>
public sealed class BoundedShutdown(IServer server) : IHostedLifecycleService
{
    /// <summary>How long requests in progress may take to finish once shutdown begins.</summary>
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The whole shutdown: the drain, then the silo's graceful stop.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(9);

    /// <inheritdoc />
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        drain.CancelAfter(DrainTimeout);
        // Kestrel's StopAsync runs once; the web host's own call later just awaits this one.
        await server.StopAsync(drain.Token);
    }

    /// <inheritdoc />
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
