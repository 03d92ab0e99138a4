using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Glance.Tests.Shared;

/// <summary>
/// A tiny HTTP/1.1 server on 127.0.0.1 (a free port) for web-download tests: it serves byte
/// arrays, statuses and redirects registered per path, one request per connection, and can
/// stall mid-body until released or until the client goes away. It records every request, so a
/// test can prove that a URI the filter refused was never fetched. Bounded: it stops on dispose.
/// </summary>
public sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, Route> _routes = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly Task _accepting;

    /// <summary>Starts listening.</summary>
    public LoopbackHttpServer()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    /// <summary>The port it listens on.</summary>
    public int Port { get; }

    /// <summary>The paths requested so far, in order.</summary>
    public IReadOnlyList<string> Requests => [.. _requests];

    /// <summary>The absolute URL of <paramref name="path"/> (which starts with '/').</summary>
    public string Url(string path) => $"http://127.0.0.1:{Port}{path}";

    /// <summary>Serves <paramref name="body"/> at <paramref name="path"/> (200, with a Content-Length unless <paramref name="withLength"/> is false).</summary>
    public void Serve(string path, byte[] body, bool withLength = true) => _routes[path] = new Route(200, body, WithLength: withLength);

    /// <summary>Serves <paramref name="body"/> at <paramref name="path"/> slowly: <paramref name="piece"/> bytes, then a <paramref name="pause"/>, and so on.</summary>
    public void Throttled(string path, byte[] body, int piece, TimeSpan pause) => _routes[path] = new Route(200, body, Piece: piece, Pause: pause);

    /// <summary>Answers <paramref name="path"/> with a bare status.</summary>
    public void Status(string path, int status) => _routes[path] = new Route(status, Encoding.ASCII.GetBytes($"status {status}"));

    /// <summary>Redirects <paramref name="path"/> (302) to <paramref name="location"/>.</summary>
    public void Redirect(string path, string location) => _routes[path] = new Route(302, [], Location: location);

    /// <summary>
    /// Serves <paramref name="body"/> at <paramref name="path"/> but stops after <paramref name="head"/>
    /// bytes until <see cref="Stall.Release"/> (or the client disconnects).
    /// </summary>
    public Stall Stalling(string path, byte[] body, int head)
    {
        var stall = new Stall();
        _routes[path] = new Route(200, body, StallAfter: head, Stall: stall);
        return stall;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        foreach (var route in _routes.Values)
        {
            route.Stall?.Release();
        }
        try
        {
            await _accepting.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception)
        {
            // Stopping: whatever the accept loop ended with does not matter.
        }
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                return;
            }
            _ = Task.Run(() => HandleAsync(client));
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(60));
                var stream = client.GetStream();
                var path = await ReadRequestPathAsync(stream, timeout.Token);
                if (path is null)
                {
                    return;
                }
                _requests.Enqueue(path);
                var route = _routes.TryGetValue(path, out var found) ? found : new Route(404, Encoding.ASCII.GetBytes("not found"));
                var head = new StringBuilder($"HTTP/1.1 {route.Status} {Reason(route.Status)}\r\nConnection: close\r\nContent-Type: application/octet-stream\r\n");
                if (route.WithLength)
                {
                    head.Append($"Content-Length: {route.Body.Length}\r\n");
                }
                if (route.Location is not null)
                {
                    head.Append($"Location: {route.Location}\r\n");
                }
                head.Append("\r\n");
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), timeout.Token);
                if (route.Stall is { } stall)
                {
                    await stream.WriteAsync(route.Body.AsMemory(0, route.StallAfter), timeout.Token);
                    await stream.FlushAsync(timeout.Token);
                    stall.Reached();
                    // Wait for the release, or notice the client closing the connection.
                    var gone = ReadUntilClosedAsync(stream, timeout.Token);
                    if (await Task.WhenAny(stall.Released, gone) == gone)
                    {
                        stall.ClientWentAway();
                        return;
                    }
                    await stream.WriteAsync(route.Body.AsMemory(route.StallAfter), timeout.Token);
                }
                else if (route.Piece > 0)
                {
                    for (var start = 0; start < route.Body.Length; start += route.Piece)
                    {
                        await stream.WriteAsync(route.Body.AsMemory(start, Math.Min(route.Piece, route.Body.Length - start)), timeout.Token);
                        await stream.FlushAsync(timeout.Token);
                        await Task.Delay(route.Pause, timeout.Token);
                    }
                }
                else
                {
                    await stream.WriteAsync(route.Body, timeout.Token);
                }
                await stream.FlushAsync(timeout.Token);
                client.Client.Shutdown(SocketShutdown.Send);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
            }
            catch (IOException)
            {
                // The client went away.
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private static async Task ReadUntilClosedAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[256];
        try
        {
            while (await stream.ReadAsync(buffer, cancellationToken) > 0)
            {
            }
        }
        catch (IOException)
        {
        }
    }

    private static async Task<string?> ReadRequestPathAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var received = new List<byte>();
        var buffer = new byte[4096];
        while (received.Count < 64 * 1024)
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                return null;
            }
            received.AddRange(buffer.AsSpan(0, read));
            var text = Encoding.ASCII.GetString([.. received]);
            if (text.Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var parts = text[..text.IndexOf("\r\n", StringComparison.Ordinal)].Split(' ');
                return parts.Length >= 2 ? parts[1] : null;
            }
        }
        return null;
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        302 => "Found",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Status",
    };

    private sealed record Route(int Status, byte[] Body, string? Location = null, bool WithLength = true, int StallAfter = 0, Stall? Stall = null,
        int Piece = 0, TimeSpan Pause = default);

    /// <summary>A response held back mid-body.</summary>
    public sealed class Stall
    {
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _gone = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes once the head of the body has been sent.</summary>
        public Task HeadSent => _reached.Task;

        /// <summary>Completes when the client closed the connection while the response was held back.</summary>
        public Task ClientGone => _gone.Task;

        internal Task Released => _released.Task;

        /// <summary>Sends the rest of the body.</summary>
        public void Release() => _released.TrySetResult();

        internal void Reached() => _reached.TrySetResult();

        internal void ClientWentAway() => _gone.TrySetResult();
    }
}
