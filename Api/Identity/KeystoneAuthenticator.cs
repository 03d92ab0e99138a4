using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Glance.Api.Identity;

/// <summary>
/// Turns an <c>X-Auth-Token</c> into a <see cref="Caller"/> as keystonemiddleware's auth_token
/// does: valid tokens are cached for <see cref="KeystoneOptions.CacheSeconds"/> (never past
/// their own expiry, which is checked on every use), invalid ones are not cached, and
/// concurrent requests with the same uncached token share one Keystone call.
/// The cache is keyed by the token's SHA-256 and bounded in entries: hostile callers sending
/// random tokens cost Keystone calls, not memory.
/// </summary>
public sealed class KeystoneAuthenticator : IDisposable
{
    // Fernet tokens are ~200 characters; anything this long is refused without asking Keystone.
    private const int MaxTokenLength = 8192;

    private readonly KeystoneClient _keystone;
    private readonly KeystoneOptions _options;
    private readonly TimeProvider _time;
    private readonly MemoryCache _cache;
    private readonly ConcurrentDictionary<string, Lazy<Task<KeystoneToken?>>> _inFlight = new();

    /// <summary>Creates the authenticator.</summary>
    public KeystoneAuthenticator(KeystoneClient keystone, IOptions<KeystoneOptions> options, TimeProvider time)
    {
        _keystone = keystone;
        _options = options.Value;
        _time = time;
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = Math.Max(1, _options.CacheEntries) });
    }

    /// <summary>Whether Keystone validation is configured.</summary>
    public bool Enabled => _options.Enabled;

    /// <summary>The caller a token stands for, or null when the token is missing, invalid or expired (401).</summary>
    /// <exception cref="KeystoneUnavailableException">Keystone could not say (503).</exception>
    public async Task<Caller?> AuthenticateAsync(string? token, CancellationToken aborted)
    {
        // keystonemiddleware strips whitespace around the header value (bug 1689468).
        token = token?.Trim();
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength || !token.All(c => c is > ' ' and < (char)127))
        {
            return null;
        }
        var key = Convert.ToHexString(SHA256.HashData(Encoding.ASCII.GetBytes(token)));
        if (_cache.TryGetValue(key, out KeystoneToken? cached) && cached is not null)
        {
            if (Unexpired(cached))
            {
                return cached.Caller;
            }
            _cache.Remove(key);
            return null;
        }
        // One Keystone call per token however many requests wait for it; a client that goes away
        // stops waiting but does not cancel the call the others share.
        var validation = _inFlight.GetOrAdd(key, k => new Lazy<Task<KeystoneToken?>>(() => ValidateAndCacheAsync(token, k)));
        var validated = await validation.Value.WaitAsync(aborted);
        return validated is not null && Unexpired(validated) ? validated.Caller : null;
    }

    private async Task<KeystoneToken?> ValidateAndCacheAsync(string token, string key)
    {
        try
        {
            var validated = await _keystone.ValidateAsync(token);
            var now = _time.GetUtcNow();
            if (validated is not null && validated.ExpiresAt > now && _options.CacheSeconds > 0)
            {
                var until = now.AddSeconds(_options.CacheSeconds);
                _cache.Set(key, validated, new MemoryCacheEntryOptions
                {
                    Size = 1,
                    AbsoluteExpiration = until < validated.ExpiresAt ? until : validated.ExpiresAt,
                });
            }
            return validated;
        }
        finally
        {
            _inFlight.TryRemove(key, out _);
        }
    }

    // The token's own expiry, checked on every use: a cached token stops working when it expires.
    private bool Unexpired(KeystoneToken token) => token.ExpiresAt > _time.GetUtcNow();

    /// <inheritdoc />
    public void Dispose() => _cache.Dispose();
}
